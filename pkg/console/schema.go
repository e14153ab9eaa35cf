package console

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// SchemaSample is how many of a type's latest events "Get Schema" reads: enough to see every
// field senders use, few enough to answer at once on a store of millions.
const SchemaSample = 1000

// schemaView is GET /api/schema/{event_type}: every field path seen in the sampled events.
type schemaView struct {
	EventType string `json:"event_type"`
	// EventsSampled is how many events were read (the latest, at most SchemaSample).
	EventsSampled int          `json:"events_sampled"`
	Fields        []fieldStats `json:"fields"`
}

// fieldStats is one path: the JSON types seen there, how many events carry it, and one example.
type fieldStats struct {
	// Path is written as MAPPING_FILE paths are, with [0] for an array's elements (all of them
	// counted together).
	Path    string   `json:"path"`
	Types   []string `json:"types"`
	Count   int      `json:"count"`
	Example string   `json:"example,omitempty"`
	// Masked says Example was masked: it looked like an email address or a phone number.
	Masked bool `json:"masked,omitempty"`

	seenIn int // index+1 of the last event counted, so a path repeated in arrays counts once
}

// schema reads the latest events of a type and collects their field paths. It decodes each with
// route.Document, the decoder the workers use, so it sees what the mapping will see.
func (s *Server) schema(ctx context.Context, acct, eventType string) (schemaView, *apiError) {
	evs, err := s.store.LatestEvents(ctx, acct, eventType, SchemaSample)
	if err != nil {
		return schemaView{}, s.internal("reading events", err)
	}
	if len(evs) == 0 {
		return schemaView{}, errorf(http.StatusNotFound, "not_found", "no stored events of type "+eventType)
	}
	fields := map[string]*fieldStats{}
	for i, ev := range evs {
		doc, err := route.Document(ctx, &event.Event{ID: ev.EventID, Type: ev.EventType, Body: ev.Payload})
		if err != nil {
			continue // stored before validation was strict; nothing to learn from it
		}
		walk(fields, "", doc, i+1, masker{s.mapper})
	}
	v := schemaView{EventType: eventType, EventsSampled: len(evs), Fields: make([]fieldStats, 0, len(fields))}
	for _, f := range fields {
		slices.Sort(f.Types)
		v.Fields = append(v.Fields, *f)
	}
	slices.SortFunc(v.Fields, func(a, b fieldStats) int { return strings.Compare(a.Path, b.Path) })
	return v, nil
}

// walk records the value v found at path in event number n, and everything inside it.
func walk(fields map[string]*fieldStats, path string, v any, n int, m masker) {
	if path != "" {
		f := fields[path]
		if f == nil {
			f = &fieldStats{Path: path}
			fields[path] = f
		}
		if f.seenIn != n {
			f.seenIn = n
			f.Count++
		}
		if t := jsonType(v); !slices.Contains(f.Types, t) {
			f.Types = append(f.Types, t)
		}
		if f.Example == "" {
			f.Example, f.Masked = m.example(path, v)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			walk(fields, join(path, k), child, n, m)
		}
	case []any:
		for _, child := range x {
			walk(fields, path+"[0]", child, n, m)
		}
	}
}

// join appends key to path: after a dot when it is a plain key, else as ["key"] (a key holding a
// dot, a bracket or a quote, or empty), the way MAPPING_FILE paths write it.
func join(path, key string) string {
	if key == "" || strings.ContainsAny(key, `.[]"`) || strings.TrimSpace(key) != key {
		b, _ := json.Marshal(key)
		return path + "[" + string(b) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func (s *Server) apiSchema(w http.ResponseWriter, r *http.Request) {
	v, err := s.schema(r.Context(), accountOf(r), pathVar(r, "event_type"))
	writeAPI(w, v, err)
}

// typesView is GET /api/schema: the event types stored, with their counts.
type typesView struct {
	EventTypes []typeCount `json:"event_types"`
}

type typeCount struct {
	EventType string `json:"event_type"`
	Events    int64  `json:"events"`
}

func (s *Server) eventTypes(ctx context.Context, acct string) (typesView, *apiError) {
	ts, err := s.store.EventTypes(ctx, acct)
	if err != nil {
		return typesView{}, s.internal("listing event types", err)
	}
	v := typesView{EventTypes: make([]typeCount, len(ts))}
	for i, t := range ts {
		v.EventTypes[i] = typeCount{EventType: t.EventType, Events: t.Events}
	}
	return v, nil
}

func (s *Server) apiEventTypes(w http.ResponseWriter, r *http.Request) {
	v, err := s.eventTypes(r.Context(), accountOf(r))
	writeAPI(w, v, err)
}
