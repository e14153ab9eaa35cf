package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// A planner applies a batch's records to the leads in memory, in order, exactly as SQLite applies
// them one statement at a time: leadrules.Match asks the planner (a leadrules.Finder), which
// answers from the rows the batch fetched up front (the leads of its emails and the newest leads
// of its phone numbers) and from what the records before changed. The locks (locks.go) keep
// those rows as they were read until the transaction ends, so the answers are the ones the
// database would give; the writes then go out together (apply.go).
type planner struct {
	ctx  context.Context
	conn *pgx.Conn
	now  time.Time
	// entries are the leads the batch knows, by id: fetched, or created by the batch (with a
	// temporary id above every real one until Apply draws real ids).
	entries map[int64]*entry
	// byEmail finds an entry by its account and current email.
	byEmail map[accountKey]int64
	// touched lists the ids of the entries the batch changed or created, in that order.
	touched []int64
	// tops are the fetched newest leads per phone lookup, newest first; complete when the
	// database had no more.
	tops map[phoneLookup]*top
	// stored maps the batch's (account, event id)s already stored, and those the batch stored, to
	// their lead ids: the dedupe, per account.
	stored   map[accountKey]int64
	nextTemp int64
}

// tempBase is above every id the sequence will give out in practice, so a lead the batch
// creates sorts after every stored one (leadrules.Newer), as its real id will.
const tempBase = int64(1) << 62

// entry is one lead as the batch sees it.
type entry struct {
	l store.StoredLead
	// orig is the row as fetched (nil for a lead the batch created): its keys must be locked
	// before the lead is written (locks.go).
	orig    *store.StoredLead
	changed bool
}

// accountKey is a value that identifies something within one account only: an email, an event
// id, a meeting id.
type accountKey struct{ account, key string }

type phoneLookup struct {
	account string
	col     leadrules.PhoneColumn
	phone   string
	noEmail bool
}

type top struct {
	ids      []int64
	complete bool
}

func newPlanner(ctx context.Context, conn *pgx.Conn, now time.Time) *planner {
	return &planner{ctx: ctx, conn: conn, now: now, entries: map[int64]*entry{}, byEmail: map[accountKey]int64{},
		tops: map[phoneLookup]*top{}, stored: map[accountKey]int64{}, nextTemp: tempBase}
}

// load adds a fetched lead (fetched again by another lookup, it is the same row).
func (p *planner) load(l *store.StoredLead) {
	if _, ok := p.entries[l.ID]; ok {
		return
	}
	orig := *l
	p.entries[l.ID] = &entry{l: *l, orig: &orig}
	if l.Email != "" {
		p.byEmail[accountKey{l.Account, l.Email}] = l.ID
	}
}

// ByEmail is leadrules.Finder's lookup: emails are unique and a lead only ever gains one, so the
// fetched row or a lead the batch gave the email is the answer.
func (p *planner) ByEmail(acct, email string) (*store.StoredLead, error) {
	if id, ok := p.byEmail[accountKey{acct, email}]; ok {
		return &p.entries[id].l, nil
	}
	return nil, nil
}

// ByPhone is leadrules.Finder's lookup: the newest of the leads the batch changed that match
// now, and of the fetched newest leads that the batch left alone. When the batch changed every
// fetched one and the database may have more, the next one is fetched.
func (p *planner) ByPhone(acct string, col leadrules.PhoneColumn, phone string, noEmail bool) (*store.StoredLead, error) {
	var best *store.StoredLead
	consider := func(l *store.StoredLead) {
		if best == nil || leadrules.Newer(l, best) {
			best = l
		}
	}
	for _, id := range p.touched {
		e := p.entries[id]
		if e.l.Account == acct && *phoneField(&e.l, col) == phone && (!noEmail || e.l.Email == "") {
			consider(&e.l)
		}
	}
	q := phoneLookup{acct, col, phone, noEmail}
	t := p.tops[q]
	if t == nil {
		return nil, fmt.Errorf("%s %s was not fetched", phoneColumn[col], phone)
	}
	for {
		for _, id := range t.ids {
			if e := p.entries[id]; !e.changed {
				consider(&e.l) // the first one left alone is the newest of them
				return best, nil
			}
		}
		if t.complete {
			return best, nil
		}
		var next *store.StoredLead
		rows, err := p.conn.Query(p.ctx, phoneNext(col, noEmail), phone, t.ids, acct)
		if err := readLeads(rows, err, nil, func(l *store.StoredLead) { next = l }); err != nil {
			return nil, fmt.Errorf("next lead by phone: %w", err)
		}
		if next == nil {
			t.complete = true
			continue
		}
		p.load(next)
		t.ids = append(t.ids, next.ID)
	}
}

func phoneField(l *store.StoredLead, col leadrules.PhoneColumn) *string {
	if col == leadrules.Mobile {
		return &l.MobileNumber
	}
	return &l.AltPhone
}

// undo restores what one record changed in the planner.
type undo struct {
	id      int64
	prev    *entry     // nil: the record created the lead
	touched int        // len(p.touched) before
	email   accountKey // an email the record added to byEmail
	eventID accountKey
}

// plan applies rec in memory and returns its result (LeadID may be temporary) and how to take it
// back. A duplicate changes nothing.
func (p *planner) plan(rec *pipeline.Record) (pipeline.Result, *undo, error) {
	acct := store.Account(rec.Account)
	key := accountKey{acct, rec.EventID}
	if id, ok := p.stored[key]; ok {
		return pipeline.Result{Outcome: pipeline.Duplicate, LeadID: id}, nil, nil
	}
	u := &undo{touched: len(p.touched), eventID: key}
	var leadID int64
	if rec.Lead != nil {
		in := *rec.Lead
		// PostgreSQL keeps microseconds: compare and keep what it will return.
		in.SeenAt = in.SeenAt.Truncate(time.Microsecond)
		found, err := leadrules.Match(p, acct, &in)
		if err != nil {
			return pipeline.Result{}, nil, fmt.Errorf("find lead: %w", err)
		}
		var e *entry
		if found == nil {
			p.nextTemp++
			e = &entry{l: store.StoredLead{ID: p.nextTemp, Account: acct, Lead: in, CreatedAt: p.now}}
			p.entries[e.l.ID] = e
		} else {
			e = p.entries[found.ID]
			prev := *e
			u.prev = &prev
			e.l.Lead = leadrules.Merge(e.l.Lead, in)
		}
		u.id = e.l.ID
		e.l.UpdatedAt = p.now
		if !e.changed {
			e.changed = true
			p.touched = append(p.touched, e.l.ID)
		}
		if k := (accountKey{acct, e.l.Email}); e.l.Email != "" && p.byEmail[k] != e.l.ID {
			p.byEmail[k] = e.l.ID
			u.email = k
		}
		leadID = e.l.ID
	}
	p.stored[key] = leadID
	return pipeline.Result{Outcome: pipeline.Stored, LeadID: leadID}, u, nil
}

// revert takes back what plan did for one record that then failed to write.
func (p *planner) revert(u *undo) {
	if u == nil {
		return
	}
	delete(p.stored, u.eventID)
	if u.email.key != "" {
		delete(p.byEmail, u.email)
	}
	p.touched = p.touched[:u.touched]
	if u.id == 0 {
		return
	}
	if u.prev == nil {
		delete(p.entries, u.id)
	} else {
		*p.entries[u.id] = *u.prev
	}
}

// lockKeys returns the keys of the stored leads the batch changed (as fetched): the transaction
// must hold them all before it writes those leads (locks.go).
func (p *planner) lockKeys() keySet {
	ks := keySet{}
	for _, id := range p.touched {
		if e := p.entries[id]; e.orig != nil {
			ks.addLead(e.orig)
		}
	}
	return ks
}

// rekey gives leads the batch created their real ids (in the slow path, once written: later
// records then update them by it).
func (p *planner) rekey(ids map[int64]int64) {
	if len(ids) == 0 {
		return
	}
	for temp, real := range ids {
		e := p.entries[temp]
		delete(p.entries, temp)
		e.l.ID = real
		p.entries[real] = e
	}
	for i, id := range p.touched {
		if real, ok := ids[id]; ok {
			p.touched[i] = real
		}
	}
	for k, id := range p.byEmail {
		if real, ok := ids[id]; ok {
			p.byEmail[k] = real
		}
	}
	for k, id := range p.stored {
		if real, ok := ids[id]; ok {
			p.stored[k] = real
		}
	}
}
