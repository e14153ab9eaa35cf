package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Browser is what the operator's console reads: pages of leads, a lead's history, samples of an
// event type, and throughput. It is separate from Store so the worker's contract stays small;
// every store implements both, and storetest.RunBrowser holds them to the same behaviour.
//
// Implementations are safe for concurrent use and never hold a read transaction open between
// calls, so a console browsing a large store never holds up the worker's checkpoints.
type Browser interface {
	// Every read is of one account (acct or LeadQuery.Account; "" means account.Default) and
	// never returns another account's rows: a lead id of another account reads as no lead.

	// Leads returns up to q.Limit of q.Account's leads matching q.Filter, newest updated first
	// (updated_at descending, then id descending), starting after q.After. Page.Next is nil on
	// the last page. A Limit outside 1..MaxPageSize is clamped to that range.
	Leads(ctx context.Context, q LeadQuery) (LeadPage, error)
	// LeadHistory returns every event linked to the lead, oldest received first (ties by the
	// order they were stored); empty, not ErrNotFound, for a lead without events or no lead of
	// the account.
	LeadHistory(ctx context.Context, acct string, leadID int64) ([]EventSummary, error)
	// LeadMeetings returns the meetings linked to the lead, earliest scheduled first.
	LeadMeetings(ctx context.Context, acct string, leadID int64) ([]StoredMeeting, error)
	// EventTypes returns every event type the account stored, with how many events of it, by
	// type name.
	EventTypes(ctx context.Context, acct string) ([]TypeCount, error)
	// LatestEvents returns up to limit of the account's events of the type, most recently
	// stored first.
	LatestEvents(ctx context.Context, acct, eventType string, limit int) ([]StoredEvent, error)
	// StoredPerMinute counts the account's events stored in each minute (UTC, truncated) from
	// since on; minutes without events are left out, the rest in ascending order.
	StoredPerMinute(ctx context.Context, acct string, since time.Time) ([]MinuteCount, error)
}

// MaxPageSize bounds LeadQuery.Limit; DefaultPageSize is used when it is 0.
const (
	MaxPageSize     = 500
	DefaultPageSize = 50
)

// LeadQuery selects a page of leads.
type LeadQuery struct {
	// Account is whose leads are listed; "" means account.Default.
	Account string
	Filter  LeadFilter
	Limit   int
	// After is the cursor of the previous page (its Next); nil for the first page.
	After *Cursor
}

// LeadFilter narrows the leads listed. Fields left empty are not used; the ones set are ORed, so
// a lead matches when any of them does; an empty filter matches every lead. Callers normalize
// first: Email and Phone are compared exactly, as the pipeline stored them.
type LeadFilter struct {
	// Email matches the lead's email (normalized: trimmed, lower-case).
	Email string
	// Phone matches mobile_number or alt_phone (E.164 when the pipeline could normalize it).
	Phone string
	// Text matches a lead whose name, email or city contains it, ignoring case (Unicode's, not
	// only ASCII's), each field on its own (a fragment never spans two). LIKE's wildcards in it
	// match themselves. A fragment of three characters or more is found through an index
	// (SQLite: lead_text, PostgreSQL: pg_trgm), a shorter one by walking the leads in page order.
	Text string
}

// Empty reports whether f matches every lead.
func (f LeadFilter) Empty() bool { return f.Email == "" && f.Phone == "" && f.Text == "" }

// PageSize returns q.Limit clamped to 1..MaxPageSize, DefaultPageSize when 0.
func (q LeadQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageSize
	case q.Limit > MaxPageSize:
		return MaxPageSize
	}
	return q.Limit
}

// LeadPage is one page of leads.
type LeadPage struct {
	Leads []LeadSummary
	// Next continues after the last lead of this page; nil when there is nothing more.
	Next *Cursor
}

// LeadSummary is a lead with how many events are linked to it.
type LeadSummary struct {
	StoredLead
	Events int64
}

// Cursor is a keyset position in the leads' order: the (updated_at, id) of the last lead seen.
// Keyset rather than OFFSET: every page costs one index seek however deep it is, and a lead
// updated while someone pages moves to the front instead of shifting every later page.
type Cursor struct {
	UpdatedAt time.Time
	ID        int64
}

// String encodes c for a URL: the nanoseconds since the epoch and the id, joined by a dot.
func (c Cursor) String() string {
	return strconv.FormatInt(c.UpdatedAt.UnixNano(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ErrBadCursor is returned by ParseCursor for text String did not make.
var ErrBadCursor = errors.New("not a cursor from a previous page's next_cursor")

// ParseCursor reads a cursor written by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	ns, id, ok := strings.Cut(s, ".")
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || i <= 0 {
		return Cursor{}, fmt.Errorf("cursor %q: %w", s, ErrBadCursor)
	}
	return Cursor{UpdatedAt: time.Unix(0, n).UTC(), ID: i}, nil
}

// EventSummary is one event of a lead's history, without its payload.
type EventSummary struct {
	Account    string // the account the event was sent to
	EventID    string
	EventType  string
	ReceivedAt time.Time
	StoredAt   time.Time
}

// StoredMeeting is a meeting as kept in the store.
type StoredMeeting struct {
	Account      string // the account whose meeting it is (its ID is unique within it)
	ID           string
	LeadID       int64
	EventID      string // the event that last changed it
	Name         string
	ScheduledAt  time.Time
	Status       string
	MeetingURL   string
	Participants []string
	Timezone     string
	DurationMin  int
	UpdatedAt    time.Time
}

// TypeCount is how many events of one type are stored.
type TypeCount struct {
	EventType string
	Events    int64
}

// MinuteCount is how many events were stored in the minute starting at Minute.
type MinuteCount struct {
	Minute time.Time
	Events int64
}

// EachLead calls fn for every lead of the account (acct; "" means account.Default) matching
// filter, in Leads' order, reading b a page of MaxPageSize at a time: memory stays flat however
// many leads there are, and no read transaction stays open for the whole walk. A lead updated
// during the walk may be missed or seen twice, as with any keyset walk of a changing table.
// fn's error stops the walk.
func EachLead(ctx context.Context, b Browser, acct string, filter LeadFilter, fn func(*LeadSummary) error) error {
	q := LeadQuery{Account: acct, Filter: filter, Limit: MaxPageSize}
	for {
		page, err := b.Leads(ctx, q)
		if err != nil {
			return err
		}
		for i := range page.Leads {
			if err := fn(&page.Leads[i]); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		q.After = page.Next
	}
}
