package drills

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Person is who an event is about. Most people have an email; one in five has only a phone, so
// that the store's phone matching, not only its unique email, must keep them to one lead.
type Person struct {
	Index int
	Email string // lower-case; empty for a phone-only person
	Phone string // E.164, unique per person: what leads.mobile_number holds
}

// Event is one webhook the load sends: a unique event id, about a person.
type Event struct {
	ID     string
	Person *Person
	// Seq orders the events as made: payload.updated_on grows with it, so of a person's events
	// the one with the highest Seq is the newest, whose values the lead must keep.
	Seq int
	// Name is the person's name as this event gives it: it names the event too, so the lead's
	// name says which event's values it holds.
	Name string
	Body []byte
}

// Generator makes the drill's events from SaleAssist's sample webhook. Every fifth event is a
// follow-up about a person seen before (a new event id, a later updated_on), so the store must
// update that person's lead rather than add one. With a population (SetPopulation), once that
// many people exist every event is a follow-up, so each person gets many events. Safe for
// concurrent use.
type Generator struct {
	prefix string
	doc    map[string]any // the fixture, decoded; read only

	mu         sync.Mutex
	n          int
	population int // 0: unbounded
	people     []*Person
	byEvent    map[string]*Event
}

// NewGenerator returns a generator whose event ids start with prefix.
func NewGenerator(prefix string) (*Generator, error) {
	raw, err := os.ReadFile(fixturePath())
	if err != nil {
		return nil, fmt.Errorf("read the sample webhook: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", fixturePath(), err)
	}
	return &Generator{prefix: prefix, doc: doc, byEvent: map[string]*Event{}}, nil
}

// fixturePath is testdata/fixtures/widget_new_conversation.json, found from this file.
func fixturePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "fixtures", "widget_new_conversation.json")
}

// SetPopulation bounds the number of people to n (0: no bound). Once n people exist, every new
// event is about one of them, so that with many events per person several workers apply the
// same person's events at once: the concurrent writers a shared PostgreSQL store must keep to
// one lead per person.
func (g *Generator) SetPopulation(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.population = n
}

// Next returns a new event.
func (g *Generator) Next() *Event {
	g.mu.Lock()
	i := g.n
	g.n++
	var p *Person
	full := g.population > 0 && len(g.people) >= g.population
	if (full || i%5 == 4) && len(g.people) > 0 {
		p = g.people[(i*7919)%len(g.people)]
	} else {
		k := len(g.people)
		p = &Person{Index: k, Phone: fmt.Sprintf("+9198%08d", k)}
		if k%5 != 3 {
			p.Email = fmt.Sprintf("%s-person-%d@example.com", g.prefix, k)
		}
		g.people = append(g.people, p)
	}
	g.mu.Unlock()

	id := fmt.Sprintf("%s-%06d", g.prefix, i)
	e := &Event{ID: id, Person: p, Seq: i, Name: fmt.Sprintf("Drill Person %d as of event %d", p.Index, i)}
	e.Body = g.body(e)
	g.mu.Lock()
	g.byEvent[id] = e
	g.mu.Unlock()
	return e
}

// Event returns the event with the given id, or nil if the generator never made it.
func (g *Generator) Event(id string) *Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byEvent[id]
}

// People returns everyone the generator made events about.
func (g *Generator) People() []*Person {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*Person(nil), g.people...)
}

// body is the sample with this event's id, person, meeting and time. payload.unique_field_value
// is cleared: the sample's value would become every lead's alt_phone and join phone-only people
// to whoever had it last.
func (g *Generator) body(e *Event) []byte {
	id := e.ID
	payload := maps.Clone(g.doc["payload"].(map[string]any))
	payload["id"] = id
	payload["unique_field_value"] = ""
	payload["updated_on"] = 1720694558068 + int64(e.Seq)
	pd := maps.Clone(payload["people_detail"].(map[string]any))
	pd["name"] = e.Name
	pd["email"] = e.Person.Email
	pd["mobile_number"] = e.Person.Phone
	payload["people_detail"] = pd
	if meta, ok := payload["meta"].([]any); ok && len(meta) > 0 {
		meta = append([]any(nil), meta...)
		m0 := maps.Clone(meta[0].(map[string]any))
		m0["id"] = "meeting-" + id
		meta[0] = m0
		payload["meta"] = meta
	}
	doc := maps.Clone(g.doc)
	doc["payload"] = payload
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a map of JSON values always encodes
	}
	return b
}
