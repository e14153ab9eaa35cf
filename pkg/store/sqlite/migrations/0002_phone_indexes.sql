-- 0002: phone matching stays an index seek when many leads share a number (a placeholder, a
-- shop's own line): the most recently updated lead with the number comes straight off an index,
-- and so does the most recent one without an email (the only kind an event with an email may join).
DROP INDEX leads_mobile_number;
DROP INDEX leads_alt_phone;
CREATE INDEX leads_mobile_number ON leads (mobile_number, updated_at, id);
CREATE INDEX leads_alt_phone ON leads (alt_phone, updated_at, id);
CREATE INDEX leads_mobile_number_no_email ON leads (mobile_number, updated_at, id) WHERE email IS NULL;
CREATE INDEX leads_alt_phone_no_email ON leads (alt_phone, updated_at, id) WHERE email IS NULL;
