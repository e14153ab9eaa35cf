-- 0005: accounts (issue 22). Leads, events and meetings belong to an account; everything that
-- identifies something is unique per account: a person's email (and the phone lookups), the
-- event id (the dedupe), the meeting id. Rows from before accounts become the 'default' account's.
--
-- Leads only gain a column (ALTER TABLE … ADD COLUMN with a constant default rewrites nothing),
-- and their indexes gain the account in front: the same number of indexes as before, one more
-- column each, so a write costs what it did. Events and meetings must be rebuilt: their
-- uniqueness is a constraint of the table (events.event_id UNIQUE, meetings.id PRIMARY KEY); the new uniqueness is a named index,
-- which SQLite cannot alter in place. Rebuilt children first: meetings (which referenced
-- events.event_id, no longer unique alone, so that foreign key goes; Apply writes a meeting's
-- event just before it), then events, which nothing references any more when it is dropped.
-- Row ids are kept, so a lead's history keeps its order. The migration runs in one transaction:
-- an interrupted one leaves the store as it was.

ALTER TABLE leads ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
DROP INDEX leads_email;
CREATE UNIQUE INDEX leads_email ON leads (account, email) WHERE email <> '';
DROP INDEX leads_mobile_number;
DROP INDEX leads_alt_phone;
DROP INDEX leads_mobile_number_no_email;
DROP INDEX leads_alt_phone_no_email;
CREATE INDEX leads_mobile_number ON leads (account, mobile_number, updated_at, id);
CREATE INDEX leads_alt_phone ON leads (account, alt_phone, updated_at, id);
CREATE INDEX leads_mobile_number_no_email ON leads (account, mobile_number, updated_at, id) WHERE email IS NULL;
CREATE INDEX leads_alt_phone_no_email ON leads (account, alt_phone, updated_at, id) WHERE email IS NULL;
DROP INDEX leads_updated;
CREATE INDEX leads_updated ON leads (account, updated_at, id);

CREATE TABLE meetings_new (
    account      TEXT NOT NULL DEFAULT 'default',
    id           TEXT NOT NULL CHECK (id <> ''),  -- SaleAssist's meeting id
    lead_id      INTEGER REFERENCES leads (id),
    event_id     TEXT NOT NULL,                   -- the account's event that last changed it
    name         TEXT NOT NULL DEFAULT '',
    scheduled_at TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    meeting_url  TEXT NOT NULL DEFAULT '',
    participants TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings
    timezone     TEXT NOT NULL DEFAULT '',
    duration_min INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);
INSERT INTO meetings_new (account, id, lead_id, event_id, name, scheduled_at, status, meeting_url,
        participants, timezone, duration_min, updated_at)
    SELECT 'default', id, lead_id, event_id, name, scheduled_at, status, meeting_url,
        participants, timezone, duration_min, updated_at FROM meetings;
DROP TABLE meetings;
ALTER TABLE meetings_new RENAME TO meetings;
CREATE UNIQUE INDEX meetings_account_id ON meetings (account, id);
CREATE INDEX meetings_lead_id ON meetings (lead_id);

CREATE TABLE events_new (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL DEFAULT 'default',
    event_id    TEXT NOT NULL CHECK (event_id <> ''),
    event_type  TEXT NOT NULL DEFAULT '',
    lead_id     INTEGER REFERENCES leads (id),
    received_at TEXT NOT NULL DEFAULT '',
    stored_at   TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '',  -- the envelope as received
    invalid     TEXT                       -- why the event failed its schema; NULL when valid
);
INSERT INTO events_new (id, account, event_id, event_type, lead_id, received_at, stored_at, payload, invalid)
    SELECT id, 'default', event_id, event_type, lead_id, received_at, stored_at, payload, invalid FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
-- The durable dedupe, per account: JetStream's window is only minutes long.
CREATE UNIQUE INDEX events_account_event_id ON events (account, event_id);
CREATE INDEX events_lead_id ON events (lead_id);
CREATE INDEX events_event_type ON events (account, event_type);
CREATE INDEX events_invalid ON events (account, received_at, event_id) WHERE invalid IS NOT NULL AND invalid <> '';
-- The per-minute throughput, and ingestctl prune's walk of an account's old events.
CREATE INDEX events_stored_at ON events (account, stored_at);
