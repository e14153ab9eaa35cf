package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// leadJSON is a lead as the API shows it.
type leadJSON struct {
	ID int64 `json:"id"`
	pipeline.Lead
	Events    int64     `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func leadOf(l *store.StoredLead, events int64) leadJSON {
	return leadJSON{ID: l.ID, Lead: l.Lead, Events: events, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

// leadsView is GET /api/leads and the leads page.
type leadsView struct {
	Leads      []leadJSON `json:"leads"`
	NextCursor string     `json:"next_cursor"`
	// Query is q as given, SearchedBy how it was read (filter's by); for the page.
	Query      string `json:"-"`
	SearchedBy string `json:"-"`
}

// filter reads a search the way the pipeline normalizes what it stores: a whole email address
// (text with an @ and a dot after it, no spaces) is an email, trimmed and lower-cased, matched
// exactly; text made of digits and phone punctuation is a phone number, matched exactly, in E.164
// when it is a valid one ("098765 43210" is +919876543210), else as typed, trimmed, which is how
// the pipeline keeps an invalid number; anything else ("rao", "@gmail", "asha.rao@gm") is a
// fragment looked for in every lead's name, email and city, ignoring case. A whole address or
// number is not also searched as a fragment: it would find the same lead, at the cost of a
// trigram search whose every trigram ("com", "exa") is in most leads. by says how q was read,
// for the page.
func (s *Server) filter(q string) (f store.LeadFilter, by string) {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return store.LeadFilter{}, ""
	case wholeEmail(q):
		return store.LeadFilter{Email: mapping.NormalizeEmail(q)}, "with this email"
	case looksLikePhone(q):
		p, _ := s.mapper.NormalizePhone(q)
		return store.LeadFilter{Phone: p}, "with this phone number"
	}
	return store.LeadFilter{Text: q}, "whose name, email or city contains"
}

// wholeEmail reports whether s reads as a whole email address: something, an @, then a domain
// with a dot inside it, and no spaces.
func wholeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	dot := strings.LastIndexByte(domain, '.')
	return ok && local != "" && dot > 0 && dot < len(domain)-1 && !strings.ContainsAny(s, " \t")
}

// looksLikePhone reports whether s holds at least 5 digits and nothing but phone punctuation.
func looksLikePhone(s string) bool {
	digits, ok := fieldpaths.PhoneDigits(s)
	return ok && digits >= 5
}

func (s *Server) leads(ctx context.Context, acct, q, limit, cursor string) (leadsView, *apiError) {
	f, by := s.filter(q)
	lq := store.LeadQuery{Account: acct, Filter: f}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return leadsView{}, errorf(http.StatusBadRequest, "invalid_query", "limit must be a number from 1 to "+strconv.Itoa(store.MaxPageSize))
		}
		lq.Limit = n
	}
	if cursor != "" {
		c, err := store.ParseCursor(cursor)
		if err != nil {
			return leadsView{}, errorf(http.StatusBadRequest, "invalid_query", err.Error())
		}
		lq.After = &c
	}
	page, err := s.store.Leads(ctx, lq)
	if err != nil {
		return leadsView{}, s.internal("listing leads", err)
	}
	v := leadsView{Leads: make([]leadJSON, len(page.Leads)), Query: q, SearchedBy: by}
	for i := range page.Leads {
		v.Leads[i] = leadOf(&page.Leads[i].StoredLead, page.Leads[i].Events)
	}
	if page.Next != nil {
		v.NextCursor = page.Next.String()
	}
	return v, nil
}

func (s *Server) apiLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v, err := s.leads(r.Context(), accountOf(r), q.Get("q"), q.Get("limit"), q.Get("cursor"))
	writeAPI(w, v, err)
}

// leadView is GET /api/leads/{id} and the lead's page.
type leadView struct {
	Lead     leadJSON        `json:"lead"`
	Meetings []meetingJSON   `json:"meetings"`
	History  []eventListItem `json:"history"`
}

type meetingJSON struct {
	ID           string    `json:"id"`
	EventID      string    `json:"event_id"`
	Name         string    `json:"name,omitempty"`
	ScheduledAt  time.Time `json:"scheduled_at,omitzero"`
	Status       string    `json:"status,omitempty"`
	MeetingURL   string    `json:"meeting_url,omitempty"`
	Participants []string  `json:"participants,omitempty"`
	Timezone     string    `json:"timezone,omitempty"`
	DurationMin  int       `json:"duration_min,omitempty"`
}

type eventListItem struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	ReceivedAt time.Time `json:"received_at"`
	StoredAt   time.Time `json:"stored_at"`
}

func (s *Server) leadDetail(ctx context.Context, acct, idText string) (leadView, *apiError) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return leadView{}, errorf(http.StatusNotFound, "not_found", "lead "+idText+" does not exist")
	}
	l, err := s.store.Lead(ctx, acct, id)
	if err != nil {
		return leadView{}, s.storeError("lead "+idText, err)
	}
	hist, err := s.store.LeadHistory(ctx, acct, id)
	if err != nil {
		return leadView{}, s.internal("reading a lead's history", err)
	}
	ms, err := s.store.LeadMeetings(ctx, acct, id)
	if err != nil {
		return leadView{}, s.internal("reading a lead's meetings", err)
	}
	v := leadView{Lead: leadOf(l, int64(len(hist))), Meetings: make([]meetingJSON, len(ms)), History: make([]eventListItem, len(hist))}
	for i, m := range ms {
		v.Meetings[i] = meetingJSON{ID: m.ID, EventID: m.EventID, Name: m.Name, ScheduledAt: m.ScheduledAt, Status: m.Status,
			MeetingURL: m.MeetingURL, Participants: m.Participants, Timezone: m.Timezone, DurationMin: m.DurationMin}
	}
	for i, e := range hist {
		v.History[i] = eventListItem{EventID: e.EventID, EventType: e.EventType, ReceivedAt: e.ReceivedAt, StoredAt: e.StoredAt}
	}
	return v, nil
}

func (s *Server) apiLead(w http.ResponseWriter, r *http.Request) {
	v, err := s.leadDetail(r.Context(), accountOf(r), pathVar(r, "id"))
	writeAPI(w, v, err)
}

// eventView is GET /api/events/{event_id}: the event with its payload as received.
type eventView struct {
	EventID    string          `json:"event_id"`
	EventType  string          `json:"event_type"`
	LeadID     int64           `json:"lead_id,omitempty"`
	ReceivedAt time.Time       `json:"received_at"`
	Invalid    string          `json:"invalid,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

func (s *Server) event(ctx context.Context, acct, id string) (eventView, *apiError) {
	ev, err := s.store.Event(ctx, acct, id)
	if errors.Is(err, store.ErrNotFound) {
		return eventView{}, errorf(http.StatusNotFound, "not_found", "no stored event has this id")
	}
	if err != nil {
		return eventView{}, s.internal("reading an event", err)
	}
	payload := json.RawMessage(ev.Payload)
	if !json.Valid(payload) {
		// Stored events are JSON (the ingest checked); a store written otherwise still shows.
		payload, _ = json.Marshal(string(ev.Payload))
	}
	return eventView{EventID: ev.EventID, EventType: ev.EventType, LeadID: ev.LeadID, ReceivedAt: ev.ReceivedAt,
		Invalid: ev.Invalid, Payload: payload}, nil
}

func (s *Server) apiEvent(w http.ResponseWriter, r *http.Request) {
	v, err := s.event(r.Context(), accountOf(r), target(r, "event_id", "id"))
	writeAPI(w, v, err)
}
