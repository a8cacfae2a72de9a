-- How long `GET /api/v1/scans?q=` takes in PostgreSQL with many scans: rows and statements
-- like bench_find.py's (`Store::find_scans`, src/queue/store/officers.rs; keep them alike), on
-- a database the service migrated. Each statement runs once to warm the cache, then 10 times.
--
--   scripts/with-postgres.sh sh -c 'target/release/scantriage users list --database "$SCANTRIAGE_TEST_POSTGRES_URL" &&
--       psql -q "$SCANTRIAGE_TEST_POSTGRES_URL" -v count=300000 -f scripts/bench_find_postgres.sql'
\set ON_ERROR_STOP on
SELECT setseed(0.5) \gset
-- A scan's metadata is about 1 KB of JSON: the rows a full scan reads are that wide.
CREATE TEMP TABLE filler AS
SELECT i,
       (SELECT string_agg(chr(65 + floor(random() * 26)::int), '') FROM generate_series(1, 3 + 0 * i)) || 'U'
           || lpad(floor(random() * 1e7)::bigint::text, 7, '0') AS number
FROM generate_series(0, :count - 1) AS i;
INSERT INTO scans (id, station_id, station_scan_id, content_digest, metadata, high_image, containers, declared_goods,
                   state, received_at, updated_at, declaration_number)
SELECT format('scan-%s', lpad(i::text, 8, '0')), 'GATE-1', i::text, 'd' || i,
       '{"station_id": "GATE-1", "declaration": {"number": "x"}, "items": "' || repeat('i', 900) || '"}',
       repeat('h', 64), number, '[]', 'released', 1700000000000 + i * 1000, 1700000000000 + i * 1000,
       format('2026/GATE-1/%s', lpad(i::text, 8, '0'))
FROM filler;
INSERT INTO scan_containers (number, scan_id) SELECT number, format('scan-%s', lpad(i::text, 8, '0')) FROM filler;
ANALYZE scans;
ANALYZE scan_containers;
SELECT substr(number, 5) AS serial FROM filler WHERE i = 1234 \gset
SELECT count(*) AS scans FROM scans;

\set by_declaration 'SELECT * FROM scans WHERE declaration_number = $1 '
\set by_container 'SELECT * FROM scans WHERE id IN (SELECT id FROM scans WHERE declaration_number = $1 UNION ALL SELECT scan_id FROM scan_containers WHERE number LIKE $2) '
\set by_container_or 'SELECT * FROM scans WHERE declaration_number = $1 OR id IN (SELECT scan_id FROM scan_containers WHERE number LIKE $2) '
\set before 'SELECT * FROM scans WHERE declaration_number = $1 OR containers LIKE $2 '
\set order 'ORDER BY received_at DESC, id LIMIT 50'

-- Mean of 10 runs in ms, and the rows found.
CREATE FUNCTION pg_temp.timed(statement text, a text, b text) RETURNS TABLE (mean_ms numeric, found bigint)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz;
    n bigint;
BEGIN
    statement := 'SELECT count(*) FROM (' || statement || ') AS r';
    EXECUTE statement INTO n USING a, b;
    started := clock_timestamp();
    FOR _ IN 1..10 LOOP
        EXECUTE statement INTO n USING a, b;
    END LOOP;
    RETURN QUERY SELECT round(extract(epoch FROM clock_timestamp() - started)::numeric * 100, 2), n;
END $$;

\set declaration '2026/GATE-1/00001234'
SELECT '%' || :'serial' || '%' AS fragment \gset
SELECT 'declaration number, now' AS search, * FROM pg_temp.timed(:'by_declaration' || :'order', :'declaration', NULL)
UNION ALL
SELECT 'declaration number, before', * FROM pg_temp.timed(:'before' || :'order', :'declaration', NULL)
UNION ALL
SELECT 'container serial, now', * FROM pg_temp.timed(:'by_container' || :'order', 'X', :'fragment')
UNION ALL
SELECT 'container serial, migration 8''s OR', * FROM pg_temp.timed(:'by_container_or' || :'order', 'X', :'fragment')
UNION ALL
SELECT 'container serial, before', * FROM pg_temp.timed(:'before' || :'order', 'X', :'fragment');
