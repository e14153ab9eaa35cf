// Package redact masks secrets in connection URLs before they reach a log or an error message.
// It is the one implementation: queue.RedactURL (NATS URLs) and the PostgreSQL store (DATABASE_URL)
// both call it, so a fix to it protects every place a URL is printed.
package redact

import (
	"regexp"
	"strings"
)

// URL returns a URL list (comma-separated, as nats.Connect takes it; a PostgreSQL URL naming
// several hosts has commas too) fit for logs and error messages: each password becomes "xxxxx",
// and so does a user name given without a password, which nats.go sends as a token; in a
// PostgreSQL URL such a user name is only a name, and stays (postgres://postgres@db/leads). A password
// given as a parameter (postgres://host/db?password=…, or the key=value form password=…) is
// masked as well.
func URL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		parts[i] = one(u)
	}
	return passwordParam.ReplaceAllString(strings.Join(parts, ","), "${1}xxxxx")
}

// passwordParam is a password=… parameter: in a URL's query (up to the next &) or in a
// key=value connection string (up to white space, or the closing quote of a quoted value).
var passwordParam = regexp.MustCompile(`(?i)((?:^|[?&\s])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)`)

func one(u string) string {
	// The user info runs from the scheme (if any) to the last @. A path could hold an @ too, but
	// a password may hold an unescaped / as well: redacting too much is the safe mistake.
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndex(u[start:], "@")
	if at < 0 {
		return u
	}
	at += start
	user, _, hasPassword := strings.Cut(u[start:at], ":")
	if !hasPassword && !strings.ContainsAny(user, "@/?#") && isPostgres(u[:start]) {
		return u
	}
	if !hasPassword || strings.ContainsAny(user, "@/?#") {
		return u[:start] + "xxxxx" + u[at:]
	}
	return u[:start] + user + ":xxxxx" + u[at:]
}

// isPostgres says whether scheme (with its "://") is PostgreSQL's.
func isPostgres(scheme string) bool {
	s := strings.ToLower(strings.TrimSuffix(scheme, "://"))
	return s == "postgres" || s == "postgresql"
}
