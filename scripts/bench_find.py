"""How long `GET /api/v1/scans?q=` takes in SQLite with many scans: the statements of
`Store::find_scans` (src/queue/store/officers.rs; keep them alike), migration 8's first one for
a container fragment and the one before migration 8 (scripts/bench_find_postgres.sql: the same
in PostgreSQL), on a database the service created, filled with synthetic scans.

    rm -rf /tmp/find && target/release/scantriage users list --data-dir /tmp/find
    python3 scripts/bench_find.py /tmp/find/scantriage.db 300000
"""
import json
import random
import sqlite3
import string
import sys
import time

COLUMNS = "id, station_id, station_scan_id, content_digest, metadata, high_image, containers, declared_goods, state, " \
          "received_at, updated_at, declaration_number"
ORDER = "ORDER BY received_at DESC, id LIMIT 50"
BY_DECLARATION = f"SELECT * FROM scans WHERE declaration_number = ? {ORDER}"
BY_CONTAINER = "SELECT * FROM scans WHERE id IN (SELECT id FROM scans WHERE declaration_number = ? " \
               f"UNION ALL SELECT scan_id FROM scan_containers WHERE number LIKE ?) {ORDER}"
# Migration 8's first statement: PostgreSQL read every scan's row for it.
BY_CONTAINER_OR = "SELECT * FROM scans WHERE declaration_number = ? " \
                  f"OR id IN (SELECT scan_id FROM scan_containers WHERE number LIKE ?) {ORDER}"
BEFORE = "SELECT * FROM scans WHERE declaration_number = ? OR containers LIKE ? ORDER BY received_at DESC, id LIMIT 50"


def fill(con: sqlite3.Connection, count: int) -> None:
    rnd = random.Random(1)
    # A scan's metadata is about 1 KB of JSON: the rows a full scan reads are that wide.
    metadata = json.dumps({"station_id": "GATE-1", "declaration": {"number": "x"}, "items": "i" * 900})
    scans, numbers = [], []
    for i in range(count):
        number = "".join(rnd.choice(string.ascii_uppercase) for _ in range(3)) + "U" + "".join(rnd.choice(string.digits) for _ in range(7))
        scans.append((f"scan-{i:08d}", "GATE-1", str(i), f"d{i}", metadata, "h" * 64, number, "[]", "released",
                      1_700_000_000_000 + i * 1000, 1_700_000_000_000 + i * 1000, f"2026/GATE-1/{i:08d}"))
        numbers.append((number, f"scan-{i:08d}"))
    con.executemany(f"INSERT INTO scans ({COLUMNS}) VALUES ({', '.join('?' * 12)})", scans)
    con.executemany("INSERT INTO scan_containers (number, scan_id) VALUES (?, ?)", numbers)
    con.commit()


def timed(con: sqlite3.Connection, sql: str, args: tuple) -> str:
    con.execute(sql, args).fetchall()
    started = time.perf_counter()
    for _ in range(10):
        rows = con.execute(sql, args).fetchall()
    return f"{(time.perf_counter() - started) / 10 * 1000:8.2f} ms ({len(rows)} found)"


if __name__ == "__main__":
    path, count = sys.argv[1], int(sys.argv[2])
    con = sqlite3.connect(path)
    fill(con, count)
    number = con.execute("SELECT containers FROM scans WHERE id = 'scan-00001234'").fetchone()[0]
    declaration = "2026/GATE-1/00001234"
    print(f"{count} scans")
    fragment = f"%{number[4:]}%"
    print("declaration number, now:          ", timed(con, BY_DECLARATION, (declaration,)))
    print("declaration number, before:       ", timed(con, BEFORE, (declaration, None)))
    print("container serial, now:            ", timed(con, BY_CONTAINER, ("X", fragment)))
    print("container serial, migration 8's OR:", timed(con, BY_CONTAINER_OR, ("X", fragment)))
    print("container serial, before:         ", timed(con, BEFORE, ("X", fragment)))
