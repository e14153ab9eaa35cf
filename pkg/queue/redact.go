package queue

import "github.com/saleassist-pipeline/pipeline/internal/redact"

// RedactURL returns a NATS URL list (comma-separated, as nats.Connect takes it) fit for logs and
// error messages: each password becomes "xxxxx", and so does a user name given without a
// password, which nats.go sends as a token. nats.Conn's ConnectedUrlRedacted hides passwords
// only, and a token is as secret as a password. It is redact.URL, which the PostgreSQL store uses
// too.
func RedactURL(urls string) string { return redact.URL(urls) }
