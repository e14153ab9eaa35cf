-- 0004: the payload, compressed with lz4, kept in the events row (issue 20.3: the store's cost per
-- event). A webhook's envelope is ~4.5 KB; by default (STORAGE EXTENDED, pglz) PostgreSQL
-- compressed it to ~2.4 KB and, that still being over its ~2 KB row limit, moved it into the
-- TOAST table in two chunks: two more heap rows and two more index entries per event, and pglz
-- alone was a quarter of the server's CPU. STORAGE MAIN compresses the same and keeps the result
-- in the row (out of line only when a row still exceeds a page); lz4 compresses in a fraction of
-- pglz's time for ~10% more bytes. Measured on the hosts lab (docs/PERFORMANCE.md, "The shared
-- store's cost per event").
--
-- Both only say how new values are stored: nothing is rewritten, existing rows read as before,
-- and the bytes read back are the bytes written. A server built without lz4 keeps pglz.
ALTER TABLE events ALTER COLUMN payload SET STORAGE MAIN;
DO $$
BEGIN
    EXECUTE 'ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: events.payload stays compressed with pglz';
END $$;
