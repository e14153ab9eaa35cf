package console

import (
	"context"
	"net/http"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// SchemaSample is how many of a type's latest events "Get Schema" reads when the type has no kept
// schema yet (a store from before the worker kept one): enough to see every field senders use,
// few enough to answer at once on a store of millions.
const SchemaSample = 1000

// Where a schemaView's fields come from.
const (
	// SchemaKept: the schema the workers keep (store.FieldKeeper), over every event stored
	// since it was kept, however long ago.
	SchemaKept = "kept"
	// SchemaSampled: the latest SchemaSample events, read and walked now.
	SchemaSampled = "sampled"
)

// schemaView is GET /api/schema/{event_type}: every field path of the type's events.
type schemaView struct {
	EventType string `json:"event_type"`
	// Source is SchemaKept or SchemaSampled.
	Source string `json:"source"`
	// EventsSampled is how many events were read (the latest, at most SchemaSample); 0 when the
	// fields are kept ones.
	EventsSampled int          `json:"events_sampled"`
	Fields        []fieldStats `json:"fields"`
}

// fieldStats is one path: the JSON types seen there, how many events carry it, when first and
// last, and one example.
type fieldStats struct {
	// Path is written as MAPPING_FILE paths are, with [0] for an array's elements (all of them
	// counted together).
	Path      string    `json:"path"`
	Types     []string  `json:"types"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Example   string    `json:"example,omitempty"`
	// Masked says Example was masked: it looked like an email address or a phone number.
	Masked bool `json:"masked,omitempty"`
}

// fieldReader is the read of the kept schema (store.FieldKeeper); a store without it is
// sampled.
type fieldReader interface {
	Fields(ctx context.Context, acct, eventType string) ([]store.Field, error)
}

// schema returns the fields of an account's event type: the kept schema, or, while the type has
// none (a store from before it was kept), the paths of its latest events, walked as the worker
// walks them (fieldpaths).
func (s *Server) schema(ctx context.Context, acct, eventType string) (schemaView, *apiError) {
	v := schemaView{EventType: eventType, Source: SchemaKept}
	var fields []store.Field
	if fr, ok := s.store.(fieldReader); ok {
		var err error
		if fields, err = fr.Fields(ctx, acct, eventType); err != nil {
			return schemaView{}, s.internal("reading the kept schema", err)
		}
	}
	if len(fields) == 0 {
		evs, err := s.store.LatestEvents(ctx, acct, eventType, SchemaSample)
		if err != nil {
			return schemaView{}, s.internal("reading events", err)
		}
		if len(evs) == 0 {
			return schemaView{}, errorf(http.StatusNotFound, "not_found", "no stored events of type "+eventType)
		}
		c := fieldpaths.NewCollector(fieldpaths.NewMasker(s.mapper))
		for _, ev := range evs {
			_ = c.Add(acct, eventType, ev.ReceivedAt, ev.Payload) // stored before validation was strict: what it has is counted
		}
		fields, v.Source, v.EventsSampled = c.Fields(), SchemaSampled, len(evs)
	}
	v.Fields = make([]fieldStats, len(fields))
	for i, f := range fields {
		v.Fields[i] = fieldStats{Path: f.Path, Types: f.Types.Names(), Count: f.Count, FirstSeen: f.FirstSeen,
			LastSeen: f.LastSeen, Example: f.Example, Masked: f.Masked}
	}
	return v, nil
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
