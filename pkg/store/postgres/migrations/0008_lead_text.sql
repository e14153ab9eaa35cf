-- 0008: the fragment search's index (issue 23 item 9, store.LeadFilter.Text): pg_trgm's GIN
-- index over the name, email and city, so that "name ILIKE '%frag%' OR email ILIKE … OR city
-- ILIKE …" reads the leads having the fragment's trigrams (a BitmapOr of the three columns)
-- instead of every lead of the account. The planner sees the pattern (the store sends it as a
-- literal, not a generic plan's parameter) and still walks leads_account_updated in page order
-- for a fragment so common that the page fills at once.
--
-- pg_trgm is a trusted extension (PostgreSQL 13 and later): a database owner may create it. When
-- it cannot be created (not installed, or not allowed), this says so (a WARNING, in the server's log) and goes on without the
-- index: searches still work, walking the leads as before. Re-creating it later and running
--   CREATE INDEX leads_text_trgm ON leads USING gin (name gin_trgm_ops, email gin_trgm_ops, city gin_trgm_ops);
-- adds the index by hand. GIN's fastupdate (on by default) queues a new lead's trigrams in the
-- index's pending list and merges them in bulk (at vacuum, or when the list passes
-- gin_pending_list_limit), which keeps the cost per new lead small. Building it takes ~45 s per
-- million leads, blocking writers meanwhile: on a large live database create it first with
-- CREATE INDEX CONCURRENTLY under the same name, and this finds it made.
DO $$
DECLARE
    s text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pg_trgm could not be created (%): lead searches by fragment go without an index', SQLERRM;
        RETURN;
    END;
    SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX IF NOT EXISTS leads_text_trgm ON leads USING gin (name %1$I.gin_trgm_ops, email %1$I.gin_trgm_ops, city %1$I.gin_trgm_ops)', s);
END $$;
