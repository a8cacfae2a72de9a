#!/bin/sh
# Runs a command beside a throwaway PostgreSQL server on loopback, for the storage tests:
#   scripts/with-postgres.sh cargo test
# The server (Debian's postgresql package, installed here when missing) lives in a temporary
# directory, listens on a free 127.0.0.1 port and is stopped and deleted when the command ends.
# The command sees its address in SCANTRIAGE_TEST_POSTGRES_URL.
set -eu

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN=$(find_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "with-postgres: installing Debian's postgresql package for the storage tests" >&2
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(find_bin)
fi

DIR=$(mktemp -d /tmp/scantriage-postgres.XXXXXX)
# PostgreSQL refuses to run as root: as root, run it as the package's postgres user.
AS=
if [ "$(id -u)" = 0 ]; then
    chown postgres "$DIR"
    AS="runuser -u postgres --"
fi
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    $AS "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT INT TERM

$AS "$PGBIN/initdb" -D "$DIR/data" -U scantriage -A trust --no-sync >"$DIR/initdb.log" 2>&1 ||
    { cat "$DIR/initdb.log" >&2; exit 1; }
# fsync off: a test server's data is thrown away; durability is tested on SQLite by the crash test.
$AS "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -F -c max_connections=300" start >/dev/null ||
    { cat "$DIR/server.log" >&2; exit 1; }

export SCANTRIAGE_TEST_POSTGRES_URL="postgres://scantriage@127.0.0.1:$PORT/postgres"
"$@"
