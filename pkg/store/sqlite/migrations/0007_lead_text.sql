-- 0007: the fragment search's index (issue 23 item 9, store.LeadFilter.Text). An FTS4 table
-- whose docid is the lead id holds, per lead, the trigrams of its lower-cased name, email and
-- city (one column each, so no trigram crosses two fields), each trigram written as the hex of
-- its UTF-8 bytes, a token the simple tokenizer keeps whole. A fragment of three or more
-- characters is a phrase query of its consecutive trigrams: consecutive positions in one
-- column are that very substring. The store's write path keeps it (sqlite/leadtext.go), in the
-- transaction that writes the lead; the migration fills it for the leads already stored (a Go
-- step after this file: SQL cannot compute the trigrams). FTS4 rather than FTS5: FTS3/4 is
-- compiled into go-sqlite3 by default, FTS5 only with a build tag.
CREATE VIRTUAL TABLE lead_text USING fts4(name, email, city, tokenize=simple);
