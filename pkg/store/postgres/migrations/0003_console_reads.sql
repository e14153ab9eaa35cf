-- 0003: the console's reads (store.Browser), as SQLite's 0004. Leads are listed newest updated
-- first and paged by keyset on (updated_at, id): with leads_updated the first page and every
-- later one is one backward index range read, however many leads there are. events_stored_at
-- serves the per-minute throughput of the last hour without reading every event ever stored.
-- The searches need nothing new: email is leads_email (0001), a phone the (phone, updated_at, id)
-- indexes of 0001, and a name substring (ILIKE '%…%') walks leads_updated in page order (no
-- B-tree serves a substring; pg_trgm would, at the price of an extension and a GIN index the
-- workers update on every lead write, for a search that is not on the hot path).
--
-- IF NOT EXISTS: CREATE INDEX here runs in the migration's transaction and blocks writers while
-- it builds (seconds per million rows). On a large live database an operator may build them
-- first with CREATE INDEX CONCURRENTLY under these names; this migration then finds them made.
CREATE INDEX IF NOT EXISTS leads_updated ON leads (updated_at, id);
CREATE INDEX IF NOT EXISTS events_stored_at ON events (stored_at);
-- The latest events of a type, newest stored first (Get Schema samples 1,000, the mapping preview
-- 20): with id after the type, one backward range read, no sort of every event of the type. It
-- serves everything events_event_type (0001) did, so that one goes: one index less for every
-- event written. Dropping an index leaves an older worker working, which is what the rule of
-- adding only is for: no statement names an index.
CREATE INDEX IF NOT EXISTS events_type_id ON events (event_type, id);
DROP INDEX IF EXISTS events_event_type;
