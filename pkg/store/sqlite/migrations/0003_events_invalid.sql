-- 0003: events stored with a problem (schema violations outside the person's identity, a
-- SaleAssist time from the future; see events.invalid) are listed newest first by
-- `ingestctl events invalid`. A partial index holds only those events, so the listing reads them
-- alone, and storing a valid event (the common case) costs nothing more.
CREATE INDEX events_invalid ON events (received_at, event_id) WHERE invalid IS NOT NULL AND invalid <> '';
