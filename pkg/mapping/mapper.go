package mapping

import (
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/saleassist-pipeline/pipeline"
)

// Mapper builds Leads from events by a Mapping (DefaultMapping unless WithMapping says
// otherwise), normalizing phone numbers against a default region. Its only mutable state is a
// bounded cache of normalized phone numbers, behind a lock, so one Mapper is safe for concurrent
// use by any number of goroutines.
type Mapper struct {
	// region is the upper-case ISO 3166-1 alpha-2 code numbers without a '+' are read in.
	region  string
	mapping *Mapping
	phones  *phoneCache
	// maxSkew is how far after its arrival a SaleAssist time is still believed (see
	// WithMaxClockSkew).
	maxSkew time.Duration
}

// DefaultMaxClockSkew is how far after an event's arrival a SaleAssist time is believed unless
// WithMaxClockSkew says otherwise: a day covers any sane clock and time-zone mistake.
const DefaultMaxClockSkew = 24 * time.Hour

// WithMaxClockSkew sets how far after the event's arrival (receivedAt) its seen_at time may be
// and still be believed. A later time (a sender's clock set to year 3000) would make the lead's
// SeenAt newer than every real update, which could then only fill gaps: the arrival time stands
// in for it, and the Lead says so in IgnoredSeenAt. d must not be negative (0: no time after
// arrival is believed).
func WithMaxClockSkew(d time.Duration) Option {
	return func(m *Mapper) { m.maxSkew = d }
}

// Option configures a Mapper.
type Option func(*Mapper)

// WithMapping makes the Mapper map fields by mp, such as one LoadMapping read from an
// operator's MAPPING_FILE, instead of DefaultMapping. A nil mp keeps the default.
func WithMapping(mp *Mapping) Option {
	return func(m *Mapper) {
		if mp != nil {
			m.mapping = mp
		}
	}
}

// NewMapper returns a Mapper reading phone numbers written without a country code (such as
// "09876543210") as numbers of defaultRegion, an ISO 3166-1 alpha-2 code like "IN". The code is
// trimmed and upper-cased first; an error names the value when phonenumbers does not know it.
// It maps fields by DefaultMapping unless an option says otherwise.
func NewMapper(defaultRegion string, opts ...Option) (*Mapper, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if !phonenumbers.GetSupportedRegions()[region] {
		return nil, fmt.Errorf("lead: default phone region %q is not a region phonenumbers knows: "+
			"use an ISO 3166-1 alpha-2 country code such as \"IN\" or \"US\"", defaultRegion)
	}
	m := &Mapper{region: region, mapping: DefaultMapping(), phones: &phoneCache{}, maxSkew: DefaultMaxClockSkew}
	for _, opt := range opts {
		opt(m)
	}
	if m.maxSkew < 0 {
		return nil, fmt.Errorf("lead: max clock skew %s is negative: use 0 or more (the default is %s)", m.maxSkew, DefaultMaxClockSkew)
	}
	return m, nil
}

// MaxClockSkew is how far after its arrival a SaleAssist time is still believed.
func (m *Mapper) MaxClockSkew() time.Duration { return m.maxSkew }

// Mapping returns the mapping the Mapper uses.
func (m *Mapper) Mapping() *Mapping { return m.mapping }

// FromEvent builds the lead an event names. doc is the whole decoded envelope (event_type,
// payload, metadata; numbers as json.Number, from a decoder with UseNumber, though float64 also
// works), which the mapping's paths start from; eventType picks the mapping's section for that
// type, else its common one.
//
// It returns (nil, nil) when the event names no person: the mapping's person object (by
// default payload.people_detail) is absent, not an object, or holds no usable value (all null,
// blank text, empty objects and arrays); or, for a mapping without a person object, when no
// target got a value.
//
// Each target takes the first of its paths whose value, after the transforms, is usable: text
// or a number (as text, trimmed) for the lead's fields, any non-empty value for attributes.
// Every field of the person object that no target used, or whose value did not fit its target
// (an object for a text field, say), is kept in Attributes as its JSON, so nothing is dropped;
// an attributes.<key> target wins over the person's own <key>. AltPhone is left empty when it
// equals MobileNumber. SeenAt is the first seen_at path holding positive epoch milliseconds,
// else receivedAt; always UTC. A seen_at time later than receivedAt plus MaxClockSkew is not
// believed: SeenAt is then receivedAt, and IgnoredSeenAt the time that was sent.
//
// The only error is a value that cannot be encoded as JSON, which a decoded event never holds.
func (m *Mapper) FromEvent(eventType string, doc map[string]any, receivedAt time.Time) (*pipeline.Lead, error) {
	if doc == nil {
		return nil, nil
	}
	return m.build(m.mapping.planFor(eventType), doc, nil, receivedAt)
}

// FromPayload builds the lead from payload, the decoded "payload" object of an event, by the
// mapping's common section: it is FromEvent for an envelope holding only the payload, so
// per-event-type sections and paths into metadata or event_type do not apply. With the default
// mapping: the fields of payload.people_detail fill the lead (strings trimmed, numbers as their
// text; email trimmed and lower-cased, mobile_number in E.164), every other field, and a known
// field whose value is neither text nor a number, goes to Attributes; AltPhone is
// payload.unique_field_value when that is a valid phone number other than MobileNumber; SeenAt
// is payload.updated_on, else payload.created_on (epoch milliseconds), else receivedAt.
func (m *Mapper) FromPayload(payload map[string]any, receivedAt time.Time) (*pipeline.Lead, error) {
	if payload == nil {
		return nil, nil
	}
	return m.build(m.mapping.base, nil, payload, receivedAt)
}
