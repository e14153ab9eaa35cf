-- 0007: the kept schema (issue 23 item 8, store.FieldKeeper), as SQLite's 0006: per account and
-- event type, every field path the worker has seen in a stored event, with its count, first and
-- last seen, the JSON types seen (a bit set, store.FieldTypes) and a masked example. It starts
-- empty on an existing store; the console samples the latest events of a type until its fields
-- are kept.
CREATE TABLE event_fields (
    account    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    path       TEXT NOT NULL,
    types      SMALLINT NOT NULL,
    count      BIGINT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    example    TEXT NOT NULL DEFAULT '',
    masked     BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (account, event_type, path)
);
