-- 0004: the console's reads (store.Browser). Leads are listed newest updated first and paged by
-- keyset on (updated_at, id): with this index the first page and every later one is one index
-- seek, however many leads there are. events_stored_at serves the per-minute throughput of the
-- last hour without scanning every event ever stored; it costs the worker one more small index
-- entry per event.
CREATE INDEX leads_updated ON leads (updated_at, id);
CREATE INDEX events_stored_at ON events (stored_at);
