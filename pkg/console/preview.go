package console

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// PreviewPerType is how many of each type's latest events a mapping preview maps.
const PreviewPerType = 20

// previewView is POST /api/mapping/preview: the lead the mapping makes of each event, nothing
// written.
type previewView struct {
	Previews []previewItem `json:"previews"`
}

type previewItem struct {
	EventType string `json:"event_type"`
	EventID   string `json:"event_id"`
	// Lead is what the mapping makes of the event; null when the event names nobody.
	Lead *pipeline.Lead `json:"lead"`
	// Error is why the event could not be mapped (it is not JSON the workers can decode).
	Error string `json:"error,omitempty"`
}

// mappingFault is one fault of an invalid mapping, from mapping.MappingError.
type mappingFault struct {
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// previewSource names a posted mapping in its errors; without an extension, mapping.ParseMapping
// tells JSON from YAML by the content.
const previewSource = "(posted)"

// preview compiles data as a MAPPING_FILE and maps the latest events of eventType (every type
// when empty) with it, through mapping.Mapper.FromEvent and route.Document: what a worker would do
// with that file, minus the writing.
func (s *Server) preview(ctx context.Context, acct string, data []byte, eventType string) (previewView, *apiError) {
	mp, err := mapping.ParseMapping(previewSource, data)
	if err != nil {
		e := errorf(http.StatusUnprocessableEntity, "invalid_mapping", err.Error())
		e.Errors = faults(err)
		return previewView{}, e
	}
	m, err := mapping.NewMapper(s.region, mapping.WithMapping(mp))
	if err != nil {
		return previewView{}, s.internal("building the mapper", err)
	}
	types := []string{eventType}
	if eventType == "" {
		tv, aerr := s.eventTypes(ctx, acct)
		if aerr != nil {
			return previewView{}, aerr
		}
		types = types[:0]
		for _, t := range tv.EventTypes {
			types = append(types, t.EventType)
		}
	}
	v := previewView{Previews: []previewItem{}}
	for _, t := range types {
		evs, err := s.store.LatestEvents(ctx, acct, t, PreviewPerType)
		if err != nil {
			return previewView{}, s.internal("reading events", err)
		}
		for _, ev := range evs {
			item := previewItem{EventType: ev.EventType, EventID: ev.EventID}
			doc, err := route.Document(ctx, &pipeline.Event{ID: ev.EventID, Type: ev.EventType, Body: ev.Payload})
			if err == nil {
				item.Lead, err = m.FromEvent(ev.EventType, doc, ev.ReceivedAt)
			}
			if err != nil {
				item.Error = err.Error()
			}
			v.Previews = append(v.Previews, item)
		}
	}
	return v, nil
}

// faults lists the MappingErrors inside err (ParseMapping joins one per fault).
func faults(err error) []mappingFault {
	var me *mapping.MappingError
	if errors.As(err, &me) && me == err {
		return []mappingFault{{Line: me.Line, Field: me.Field, Message: me.Msg}}
	}
	var out []mappingFault
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			out = append(out, faults(e)...)
		}
	case interface{ Unwrap() error }:
		out = faults(x.Unwrap())
	default:
		if errors.As(err, &me) {
			out = []mappingFault{{Line: me.Line, Field: me.Field, Message: me.Msg}}
		}
	}
	return out
}

func (s *Server) apiPreview(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the mapping is larger than the console accepts (4 MiB)")
		return
	}
	v, aerr := s.preview(r.Context(), accountOf(r), data, r.URL.Query().Get("event_type"))
	writeAPI(w, v, aerr)
}
