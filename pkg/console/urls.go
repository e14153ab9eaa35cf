package console

import (
	"net/http"
	"net/url"
)

// Links built from ids and event types. An id is escaped as one path segment (url.PathEscape,
// so '/', '?', '#' and spaces stay inside it), but two ids cannot be written as a segment a
// browser keeps: "." and "..". The URL standard resolves them away ("/events/.." is "/"), and
// it decodes %2E before looking, so "/events/%2E%2E" is "/" too (Chromium does exactly that).
// Links to such an id therefore carry it in the query string, which no browser rewrites:
// /events?id=.., /schema?type=.., and so on. The path forms still take them escaped
// (/api/events/%2E%2E), for clients that send a path as written (curl, Go, scripts).

// dotSegment reports whether s, as a path segment, is one a browser removes.
func dotSegment(s string) bool { return s == "." || s == ".." }

// seg escapes s as one path segment, "." and ".." as %2E and %2E%2E (the router's pathVar
// reads them back).
func seg(s string) string {
	if dotSegment(s) {
		return map[string]string{".": "%2E", "..": "%2E%2E"}[s]
	}
	return url.PathEscape(s)
}

// eventURL is the page of the event with id.
func eventURL(id string) string {
	if dotSegment(id) {
		return "/events?id=" + url.QueryEscape(id)
	}
	return "/events/" + seg(id)
}

// schemaURL is the schema page of an event type.
func schemaURL(t string) string {
	if dotSegment(t) {
		return "/schema?type=" + url.QueryEscape(t)
	}
	return "/schema/" + seg(t)
}

// previewURL is where the schema page of a type posts its mapping preview.
func previewURL(t string) string {
	if dotSegment(t) {
		return "/schema?type=" + url.QueryEscape(t)
	}
	return "/schema/" + seg(t) + "/preview"
}

// starterURL is the starter mapping.yaml of an event type.
func starterURL(t string) string {
	if dotSegment(t) {
		return "/api/mapping.yaml?event_type=" + url.QueryEscape(t)
	}
	return "/api/schema/" + seg(t) + "/mapping.yaml"
}

// target is the id or type a request names: the route variable name, else (the query forms
// above) the query parameter key.
func target(r *http.Request, name, key string) string {
	if v := pathVar(r, name); v != "" {
		return v
	}
	return r.URL.Query().Get(key)
}
