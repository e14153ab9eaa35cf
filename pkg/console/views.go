package console

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The pages: each computes the same view as its API route and renders it.

// leadsPageData is the leads page: the page of leads, the account's total (a filtered count
// would scan what the search scans, so the page says the total only), and links both ways.
type leadsPageData struct {
	leadsView
	Total int64
	Links pageLinks
}

func (s *Server) leadsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v, err := s.leads(r.Context(), accountOf(r), q.Get("q"), q.Get("limit"), q.Get("cursor"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	base := url.Values{"q": {q.Get("q")}, "limit": {q.Get("limit")}}
	d := leadsPageData{leadsView: v, Total: -1, Links: leadsPageLinks(base, q.Get("cursor"), q.Get("prev"), v.NextCursor)}
	if c, err := s.store.Counts(r.Context(), accountOf(r)); err == nil {
		d.Total = c.Leads
	} else {
		s.log.Warn("console: counting leads for the leads page", "err", err)
	}
	s.render(w, r, http.StatusOK, "leads", pageData{Title: "Leads", Nav: "leads", Data: d})
}

// leadPageData adds the raw events to the lead's view, for the timeline.
type leadPageData struct {
	leadView
	Raw []rawEvent
}

type rawEvent struct {
	eventListItem
	Payload string
}

// rawEventsShown bounds the payloads one lead page reads; the rest link to their event page.
const rawEventsShown = 50

func (s *Server) leadPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.leadDetail(r.Context(), accountOf(r), pathVar(r, "id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := leadPageData{leadView: v, Raw: make([]rawEvent, len(v.History))}
	for i, h := range v.History {
		d.Raw[i].eventListItem = h
		if i >= rawEventsShown {
			continue
		}
		if ev, err := s.event(r.Context(), accountOf(r), h.EventID); err == nil {
			d.Raw[i].Payload = indentJSON(ev.Payload)
		}
	}
	s.render(w, r, http.StatusOK, "lead", pageData{Title: "Lead", Nav: "leads", Data: d})
}

// eventPageData is an event's page: the event, and the name of its lead for the link.
type eventPageData struct {
	eventView
	LeadName string
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.event(r.Context(), accountOf(r), target(r, "event_id", "id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := eventPageData{eventView: v}
	if v.LeadID != 0 {
		if l, err := s.store.Lead(r.Context(), accountOf(r), v.LeadID); err == nil {
			d.LeadName = l.Name
			if d.LeadName == "" {
				d.LeadName = l.Email
			}
		}
	}
	s.render(w, r, http.StatusOK, "event", pageData{Title: "Event", Nav: "leads", Data: d})
}

func (s *Server) quarantinePage(w http.ResponseWriter, r *http.Request) {
	v, err := s.quarantine(r.Context(), accountOf(r))
	d := pageData{Title: "Quarantine", Nav: "quarantine", Data: v, Flash: s.takeFlash(w, r)}
	if err != nil {
		d.Error = err.Message
	}
	s.render(w, r, http.StatusOK, "quarantine", d)
}

func (s *Server) replayQuarantinedForm(w http.ResponseWriter, r *http.Request) {
	id := pathVar(r, "id")
	v, err := s.replayQuarantined(r.Context(), accountOf(r), id, nil)
	if err != nil {
		q, _ := s.quarantine(r.Context(), accountOf(r))
		s.render(w, r, err.Status, "quarantine", pageData{Title: "Quarantine", Nav: "quarantine", Data: q, Error: err.Message})
		return
	}
	msg := fmt.Sprintf("Replayed quarantine entry %s as event %s.", id, v.Replayed.EventID)
	s.setFlash(w, r, msg)
	http.Redirect(w, r, "/quarantine", http.StatusSeeOther)
}

// schemaPageData is the schema explorer: the types, one type's fields, and a mapping preview.
type schemaPageData struct {
	Types   typesView
	Schema  *schemaView
	Mapping string
	PerType int
	Preview *previewView
	Faults  []mappingFault
}

func (s *Server) schemaPage(w http.ResponseWriter, r *http.Request) {
	s.schemaPageWith(w, r, "", nil)
}

func (s *Server) previewForm(w http.ResponseWriter, r *http.Request) {
	mapping := r.PostFormValue("mapping")
	s.schemaPageWith(w, r, mapping, func(d *schemaPageData, eventType string) *apiError {
		v, err := s.preview(r.Context(), accountOf(r), []byte(mapping), eventType)
		if err != nil && err.Code != "invalid_mapping" {
			return err
		}
		if err != nil {
			d.Faults = err.Errors
			if len(d.Faults) == 0 {
				d.Faults = []mappingFault{{Message: err.Message}}
			}
			return nil
		}
		d.Preview = &v
		return nil
	})
}

func (s *Server) schemaPageWith(w http.ResponseWriter, r *http.Request, mapping string, then func(*schemaPageData, string) *apiError) {
	types, err := s.eventTypes(r.Context(), accountOf(r))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := schemaPageData{Types: types, Mapping: mapping, PerType: PreviewPerType}
	if t := target(r, "event_type", "type"); t != "" {
		v, err := s.schema(r.Context(), accountOf(r), t)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Schema = &v
		if d.Mapping == "" {
			d.Mapping = string(starterMapping(v))
		}
		if then != nil {
			if err := then(&d, t); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
	}
	s.render(w, r, http.StatusOK, "schema", pageData{Title: "Schema", Nav: "schema", Data: d})
}

func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.stats(r.Context(), accountOf(r), principalOf(r).account == "")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "stats", pageData{Title: "Stats", Nav: "stats",
		Data: struct {
			Stats statsView
			Chart chart
		}{v, newChart(v.StoredPerMinute, s.clock)}})
}

// chart is the last hour's throughput as SVG bars, every coordinate computed here: the template
// only places numbers into attributes.
type chart struct {
	Width, Height, Left, Base int
	Max                       int64
	From, To, Zone            string
	Bars                      []bar
}

type bar struct {
	X, Y, W, H float64
	Label      string
}

func newChart(per []minuteCount, clk clock) chart {
	c := chart{Width: 640, Height: 150, Left: 40, Base: 130, Max: 1, Zone: clk.zone()}
	for _, m := range per {
		c.Max = max(c.Max, m.Events)
	}
	if len(per) == 0 {
		return c
	}
	step := float64(c.Width-c.Left) / float64(len(per))
	for i, m := range per {
		h := float64(c.Base-14) * float64(m.Events) / float64(c.Max)
		c.Bars = append(c.Bars, bar{X: float64(c.Left) + float64(i)*step + 1, Y: float64(c.Base) - h, W: step - 2, H: h,
			Label: clk.minute(m.Minute) + fmt.Sprintf(": %d events", m.Events)})
	}
	c.From, c.To = per[0].Minute.In(clk.loc).Format("15:04"), per[len(per)-1].Minute.Add(time.Minute).In(clk.loc).Format("15:04")
	return c
}
