-- 0002: events stored with a problem (schema violations outside the person's identity, a
-- SaleAssist time from the future; see events.invalid) are listed newest first by
-- `ingestctl events invalid`. A partial index holds only those events, so the listing reads them
-- alone, and storing a valid event (the common case) costs nothing more. In the listing's order:
-- an event without a received_at (NULL here, '' in SQLite) comes last, as in SQLite.
CREATE INDEX events_invalid ON events (received_at DESC NULLS LAST, event_id DESC)
    WHERE invalid IS NOT NULL AND invalid <> '';
