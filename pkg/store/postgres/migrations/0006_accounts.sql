-- 0006: accounts (issue 22), as SQLite's 0005. Leads, events and meetings belong to an account;
-- everything that identifies something is unique per account: a person's email (and the phone
-- lookups), the event id (the dedupe), the meeting id. Rows from before accounts become the
-- 'default' account's.
--
-- ADD COLUMN with a constant default rewrites no table (PostgreSQL 11+). Every index that
-- served a lookup or a listing gains the account in front, in place of the old one: the same
-- number of indexes as before, one more (short) column each, so a write costs what it did
-- (issue 20.3). The identity's uniqueness moves from the column to (account, column): the
-- event id's UNIQUE constraint and the meetings' primary key are replaced.
--
-- The indexes are rebuilt in the migration's transaction, which blocks writers while it runs
-- (seconds per million rows): stop the workers for the upgrade of a large store, or build the
-- new indexes first with CREATE INDEX CONCURRENTLY under these names (IF NOT EXISTS finds them).

ALTER TABLE leads ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT 'default';
ALTER TABLE events ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT 'default';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT 'default';

DROP INDEX IF EXISTS leads_email;
CREATE UNIQUE INDEX IF NOT EXISTS leads_account_email ON leads (account, email) WHERE email <> '';
DROP INDEX IF EXISTS leads_mobile_number;
DROP INDEX IF EXISTS leads_alt_phone;
DROP INDEX IF EXISTS leads_mobile_number_no_email;
DROP INDEX IF EXISTS leads_alt_phone_no_email;
CREATE INDEX IF NOT EXISTS leads_account_mobile_number ON leads (account, mobile_number, updated_at, id);
CREATE INDEX IF NOT EXISTS leads_account_alt_phone ON leads (account, alt_phone, updated_at, id);
CREATE INDEX IF NOT EXISTS leads_account_mobile_number_no_email ON leads (account, mobile_number, updated_at, id)
    WHERE email IS NULL;
CREATE INDEX IF NOT EXISTS leads_account_alt_phone_no_email ON leads (account, alt_phone, updated_at, id)
    WHERE email IS NULL;
DROP INDEX IF EXISTS leads_updated;
CREATE INDEX IF NOT EXISTS leads_account_updated ON leads (account, updated_at, id);

-- The durable dedupe, per account.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_event_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS events_account_event_id ON events (account, event_id);
DROP INDEX IF EXISTS events_type_id;
CREATE INDEX IF NOT EXISTS events_account_type_id ON events (account, event_type, id);
DROP INDEX IF EXISTS events_invalid;
CREATE INDEX IF NOT EXISTS events_account_invalid ON events (account, received_at DESC NULLS LAST, event_id DESC)
    WHERE invalid IS NOT NULL AND invalid <> '';
-- The per-minute throughput, and ingestctl prune's walk of an account's old events.
DROP INDEX IF EXISTS events_stored_at;
CREATE INDEX IF NOT EXISTS events_account_stored_at ON events (account, stored_at);

ALTER TABLE meetings DROP CONSTRAINT IF EXISTS meetings_pkey;
ALTER TABLE meetings ADD PRIMARY KEY (account, id);
