package loadgen

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
)

// FixtureID is payload.id of testdata/fixtures/widget_new_conversation.json.
const FixtureID = "dc60de93-d726-43cc-ad06-9cc7544cb8e5"

// counterWidth is the number of decimal digits of the per-request counter in a body's id.
const counterWidth = 20

// Body is a webhook body split around its payload.id, so that each request gets a unique id by
// writing a fixed-width counter into a private copy: no JSON work and no allocation per request,
// and every body has the same length.
type Body struct {
	prefix []byte // everything up to and including the id's opening quote, plus the run tag
	suffix []byte // the id's closing quote and the rest
	seq    atomic.Uint64
}

// NewBody splits fixture around the JSON string "oldID", which must occur exactly once. Each id
// becomes "<tag>-<20-digit counter>"; an empty tag is replaced by a random one, so ids differ
// between runs too.
func NewBody(fixture []byte, oldID, tag string) (*Body, error) {
	quoted := []byte(`"` + oldID + `"`)
	if n := bytes.Count(fixture, quoted); n != 1 {
		return nil, fmt.Errorf("fixture holds %q %d times; want exactly once", oldID, n)
	}
	if tag == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		tag = "bench-" + hex.EncodeToString(b[:])
	}
	at := bytes.Index(fixture, quoted)
	prefix := append([]byte{}, fixture[:at+1]...)
	prefix = append(prefix, tag+"-"...)
	suffix := append([]byte{}, fixture[at+len(quoted)-1:]...)
	return &Body{prefix: prefix, suffix: suffix}, nil
}

// Len is the length of every body.
func (b *Body) Len() int { return len(b.prefix) + counterWidth + len(b.suffix) }

// NewBuffer returns a private copy of the body, to be passed to Fill.
func (b *Body) NewBuffer() []byte {
	buf := make([]byte, 0, b.Len())
	buf = append(buf, b.prefix...)
	buf = append(buf, bytes.Repeat([]byte{'0'}, counterWidth)...)
	return append(buf, b.suffix...)
}

// Fill writes n as the id's counter into buf (from NewBuffer), in place.
func (b *Body) Fill(buf []byte, n uint64) {
	d := buf[len(b.prefix) : len(b.prefix)+counterWidth]
	for i := counterWidth - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
}

// Next writes the next counter into buf and returns it. Ids stay unique across every run that
// shares this Body, which matters against one server: JetStream's duplicate window would
// otherwise drop a second run's events as retries of the first's.
func (b *Body) Next(buf []byte) uint64 {
	n := b.seq.Add(1)
	b.Fill(buf, n)
	return n
}

// ID returns the id Fill(n) writes, for checks.
func (b *Body) ID(n uint64) string {
	buf := b.NewBuffer()
	b.Fill(buf, n)
	start := bytes.LastIndexByte(b.prefix, '"') + 1
	return string(buf[start : len(b.prefix)+counterWidth])
}
