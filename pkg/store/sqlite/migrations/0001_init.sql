-- 0001: leads, the events that built them, and the meetings they booked.
-- Times are UTC text in RFC 3339 with a fixed nine-digit fraction
-- (2024-05-01T10:00:00.000000000Z), so they sort and compare as strings.
-- Text columns are NOT NULL DEFAULT '' (an empty string means "not sent"), except leads.email,
-- which is NULL when unknown so the unique index only covers real addresses.

CREATE TABLE leads (
    id               INTEGER PRIMARY KEY,
    source_id        TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    email            TEXT,
    mobile_number    TEXT NOT NULL DEFAULT '',
    alt_phone        TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    pincode          TEXT NOT NULL DEFAULT '',
    city             TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    utm_source       TEXT NOT NULL DEFAULT '',
    utm_medium       TEXT NOT NULL DEFAULT '',
    utm_campaign     TEXT NOT NULL DEFAULT '',
    utm_term         TEXT NOT NULL DEFAULT '',
    utm_content      TEXT NOT NULL DEFAULT '',
    product_category TEXT NOT NULL DEFAULT '',
    product_sku      TEXT NOT NULL DEFAULT '',
    attributes       TEXT NOT NULL DEFAULT '{}',  -- JSON object: every other people_detail field
    seen_at          TEXT NOT NULL DEFAULT '',    -- SaleAssist time of the newest info merged
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- One person, one lead: an email address belongs to at most one lead.
CREATE UNIQUE INDEX leads_email ON leads (email) WHERE email <> '';
-- Email-less events are matched by phone.
CREATE INDEX leads_mobile_number ON leads (mobile_number);
CREATE INDEX leads_alt_phone ON leads (alt_phone);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    -- The unique event_id is the durable dedupe: JetStream's window is only minutes long.
    event_id    TEXT NOT NULL UNIQUE CHECK (event_id <> ''),
    event_type  TEXT NOT NULL DEFAULT '',
    lead_id     INTEGER REFERENCES leads (id),
    received_at TEXT NOT NULL DEFAULT '',
    stored_at   TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '',  -- the envelope as received
    invalid     TEXT                       -- why the event failed its schema; NULL when valid
);
CREATE INDEX events_lead_id ON events (lead_id);
CREATE INDEX events_event_type ON events (event_type);

CREATE TABLE meetings (
    id           TEXT PRIMARY KEY CHECK (id <> ''),  -- SaleAssist's meeting id
    lead_id      INTEGER REFERENCES leads (id),
    event_id     TEXT NOT NULL REFERENCES events (event_id),  -- the event that last changed it
    name         TEXT NOT NULL DEFAULT '',
    scheduled_at TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    meeting_url  TEXT NOT NULL DEFAULT '',
    participants TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    timezone     TEXT NOT NULL DEFAULT '',
    duration_min INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);
CREATE INDEX meetings_lead_id ON meetings (lead_id);
