-- 0006: the kept schema (issue 23 item 8, store.FieldKeeper): per account and event type, every
-- field path the worker has seen in a stored event, with its count, first and last seen, the
-- JSON types seen (a bit set, store.FieldTypes) and a masked example. It starts empty on an
-- existing store; the console samples the latest events of a type until its fields are kept.
-- WITHOUT ROWID: the key is the row, and every read and upsert goes by it.
CREATE TABLE event_fields (
    account    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    path       TEXT NOT NULL,
    types      INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    example    TEXT NOT NULL DEFAULT '',
    masked     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, event_type, path)
) WITHOUT ROWID;
