package store

import (
	"context"
	"time"
)

// FieldKeeper keeps the schema of what senders send: per account and event type, every field
// path seen in a stored event, with how many events carried it, when first and last, and a
// masked example. The worker adds each batch's fields once per batch (pkg/fieldpaths collects
// them), and the console's schema explorer reads them, so a field sent once a month ago still
// shows at any store size, without reading events. Every store implements it; it is separate
// from Store because it is statistics about events, not events: a failed KeepFields loses no
// event, and Apply never waits for it.
//
// Implementations are safe for concurrent use: two workers keeping the same path add up.
type FieldKeeper interface {
	// KeepFields adds fields in one transaction: for each (Account, EventType, Path) its Count
	// is added to the kept one, FirstSeen lowers and LastSeen raises the kept times, Types are
	// ORed, and a non-empty Example (with its Masked) replaces the kept one. An empty Account is
	// account.Default. fields must hold each key once; they are written in key order, so
	// concurrent callers take row locks in one order and cannot deadlock.
	KeepFields(ctx context.Context, fields []Field) error
	// Fields returns the kept fields of the account's event type, by path (byte order); an
	// empty slice, not ErrNotFound, when none is kept.
	Fields(ctx context.Context, acct, eventType string) ([]Field, error)
}

// Field is one field path of an event type, as kept by FieldKeeper.
type Field struct {
	Account   string
	EventType string
	// Path is written as MAPPING_FILE paths are (payload.people_detail.email), with [0] for the
	// elements of an array (all of them counted together), so it can be pasted into a mapping.
	Path string
	// Types are the JSON types seen at the path.
	Types FieldTypes
	// Count is how many stored events carried the path (an event counts once however many
	// array elements hold it).
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	// Example is one value seen there, masked when it held an email address or a phone number
	// (then Masked is set); empty for objects and arrays.
	Example string
	Masked  bool
}

// FieldTypes is a set of JSON types, one bit each, so that keeping a type is an OR in SQL.
type FieldTypes uint8

// The JSON types, in the order of their names (Names lists them so).
const (
	TypeArray FieldTypes = 1 << iota
	TypeBoolean
	TypeNull
	TypeNumber
	TypeObject
	TypeString
)

var typeNames = [...]string{"array", "boolean", "null", "number", "object", "string"}

// Names returns the names of the types in t, sorted.
func (t FieldTypes) Names() []string {
	names := []string{}
	for i, n := range typeNames {
		if t&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// StorableText returns s as every store can hold it, as Storable makes a record's text: U+0000
// and bytes that are not UTF-8 become U+FFFD. A field's path and example come from the payload,
// which may hold both.
func StorableText(s string) string {
	t, _ := storableText(s)
	return t
}
