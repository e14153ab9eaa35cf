-- 0005: no foreign keys on the write path (issue 20.3: the store's cost per event). Each one ran a
-- query and took a row lock (FOR KEY SHARE, a WAL record of its own) per row written: three per
-- event (events → leads, meetings → leads, meetings → events), ~15% of the server's CPU and ~110
-- bytes of WAL per event. Apply makes every reference by construction, in the transaction that
-- writes it: an event names a lead its own statement creates or one the transaction read under
-- the lead's advisory locks (locks.go), a meeting names its event (written just before) and that
-- event's lead; nothing deletes a lead, an event or a meeting. The import (ingestctl
-- migrate-store) copies a SQLite store, whose foreign keys held, in their order. TestNoDangling-
-- References (cost_test.go) checks a mixed and concurrent load leaves no reference dangling.
-- SQLite keeps its foreign keys: there they cost next to nothing.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_lead_id_fkey;
ALTER TABLE meetings DROP CONSTRAINT IF EXISTS meetings_lead_id_fkey;
ALTER TABLE meetings DROP CONSTRAINT IF EXISTS meetings_event_id_fkey;
