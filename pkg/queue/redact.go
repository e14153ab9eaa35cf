package queue

import "strings"

// RedactURL returns a NATS URL list (comma-separated, as nats.Connect takes it) fit for logs and
// error messages: each password becomes "xxxxx", and so does a user name given without a
// password, which nats.go sends as a token. nats.Conn's ConnectedUrlRedacted hides passwords
// only, and a token is as secret as a password.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		parts[i] = redactOne(u)
	}
	return strings.Join(parts, ",")
}

func redactOne(u string) string {
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
	if !hasPassword || strings.ContainsAny(user, "@/?#") {
		return u[:start] + "xxxxx" + u[at:]
	}
	return u[:start] + user + ":xxxxx" + u[at:]
}
