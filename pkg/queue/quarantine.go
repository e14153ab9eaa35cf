package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the quarantine stream, where authenticated bodies the ingest could not accept are
// kept until an operator replays or deletes them.
const (
	DefaultQuarantineStream   = "SALEASSIST_QUARANTINE"
	DefaultQuarantineSubject  = "saleassist.quarantine"
	DefaultQuarantineMaxBytes = 256 << 20
)

// Headers of a quarantined message. The body is the request body as received.
const (
	// HeaderQuarantineReason is the error code the sender was answered with (invalid_json …).
	HeaderQuarantineReason = "Saleassist-Quarantine-Reason"
	// HeaderQuarantineError is the message the sender was answered with.
	HeaderQuarantineError = "Saleassist-Quarantine-Error"
	// HeaderRemoteAddr is the client address the request came from.
	HeaderRemoteAddr = "Saleassist-Remote-Addr"
	// HeaderRequestPrefix precedes each kept request header (secrets and signatures are never
	// kept): Saleassist-Request-Content-Type, …
	HeaderRequestPrefix = "Saleassist-Request-"
	// HeaderQuarantineDropped names, comma-separated, the request headers left out because the
	// body and all its headers would not fit in one message (the server's max_payload).
	HeaderQuarantineDropped = "Saleassist-Quarantine-Dropped-Headers"
)

// ErrTooLargeToKeep says a rejected request cannot be kept even without its request headers: its
// body alone does not fit in one message of the NATS server (max_payload). Retrying cannot help,
// so it does not wrap ErrUnavailable.
var ErrTooLargeToKeep = errors.New("too large to keep in quarantine")

// maxQuarantineError bounds the kept error message, so that it cannot crowd out the body.
const maxQuarantineError = 1024

// Rejected is an authenticated request the ingest could not accept.
type Rejected struct {
	Reason     string // error code, e.g. invalid_json
	Message    string // what the sender was told
	Body       []byte // as received
	Header     http.Header
	RemoteAddr string
	ReceivedAt time.Time
	// Account is the id of the account whose URL the request came to (HeaderAccount); empty is
	// account.Default.
	Account string
}

// QuarantineStreamConfig keeps rejected bodies until they are replayed or deleted.
func (c Config) QuarantineStreamConfig() jetstream.StreamConfig {
	return c.keepStream(c.QuarantineStream, c.QuarantineSubject, c.QuarantineMaxBytes,
		"Authenticated SaleAssist requests the ingest could not accept, kept for replay")
}

// keepStream is a stream of entries kept for an operator: limits retention with no age limit
// (kept until replayed or deleted), bounded by maxBytes with DiscardNew, so a flood cannot push
// out what is already kept; whoever publishes must then keep its own copy (retry) instead.
func (c Config) keepStream(name, subject string, maxBytes int64, description string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: description,
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    maxBytes,
		Replicas:    c.Replicas,
	}
}

// Quarantine keeps a rejected request and returns its id (the stream sequence). Like Publish, it
// returns only once JetStream has stored it; errors wrap ErrUnavailable, except ErrTooLargeToKeep.
//
// The message is the body plus the kept request headers, and must fit the server's max_payload,
// of which the ingest leaves only HeaderRoom beside the largest body: a body near the limit with
// a few KB of headers (proxies add them) would never fit, and its sender would get 503s for
// ever. So when it does not fit, request headers are left out, largest first, Content-Type and
// Content-Encoding (which replay needs) last, and named in HeaderQuarantineDropped. The error
// message is clipped to maxQuarantineError bytes.
func (p *Publisher) Quarantine(ctx context.Context, r *Rejected) (uint64, error) {
	h := make(nats.Header, len(r.Header)+5)
	h.Set(HeaderQuarantineReason, r.Reason)
	h.Set(HeaderQuarantineError, oneLine(clip(r.Message, maxQuarantineError)))
	h.Set(HeaderReceivedAt, r.ReceivedAt.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderAccount, accountOrDefault(r.Account))
	if r.RemoteAddr != "" {
		h.Set(HeaderRemoteAddr, r.RemoteAddr)
	}
	for name, values := range r.Header {
		for _, v := range values {
			h.Add(HeaderRequestPrefix+name, oneLine(v))
		}
	}
	if err := fit(h, len(r.Body), p.nc.MaxPayload()); err != nil {
		return 0, err
	}
	ack, err := p.await(ctx, &nats.Msg{Subject: p.cfg.QuarantineSubject, Header: h, Data: r.Body}, "quarantine "+r.Reason+" body")
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// fit leaves request headers out of h until a message with h and a body of n bytes fits in
// maxPayload bytes, naming them in HeaderQuarantineDropped; ErrTooLargeToKeep if none is left to
// drop and it still does not fit.
func fit(h nats.Header, n int, maxPayload int64) error {
	if maxPayload <= 0 || int64(headerSize(h)+n) <= maxPayload {
		return nil
	}
	var names []string
	for k := range h {
		if strings.HasPrefix(k, HeaderRequestPrefix) {
			names = append(names, k)
		}
	}
	// What replay needs goes last; of the rest, the largest first, so that as few as possible go.
	keep := func(k string) bool {
		k = strings.TrimPrefix(k, HeaderRequestPrefix)
		return k == "Content-Type" || k == "Content-Encoding"
	}
	size := func(k string) int { return fieldsSize(k, h[k]) }
	slices.SortFunc(names, func(a, b string) int {
		if ka, kb := keep(a), keep(b); ka != kb {
			if ka {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(size(b), size(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var dropped []string
	for _, k := range names {
		delete(h, k)
		dropped = append(dropped, strings.TrimPrefix(k, HeaderRequestPrefix))
		h.Set(HeaderQuarantineDropped, clip(strings.Join(dropped, ", "), 512))
		if int64(headerSize(h)+n) <= maxPayload {
			return nil
		}
	}
	return fmt.Errorf("%w: a message of its %d-byte body and %d bytes of headers is larger than the NATS server's max_payload (%d bytes)",
		ErrTooLargeToKeep, n, headerSize(h), maxPayload)
}

// headerSize is how many bytes nats.go writes for h: the version line, "Name: value\r\n" for every
// value (trimmed, as the client sends it), and the blank line.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n") + 2
	for k, vs := range h {
		n += fieldsSize(k, vs)
	}
	return n
}

func fieldsSize(k string, vs []string) int {
	n := 0
	for _, v := range vs {
		n += len(k) + len(textproto.TrimString(v)) + 4
	}
	return n
}

// Quarantined is one kept request, as ingestctl shows it.
type Quarantined struct {
	ID         uint64
	Reason     string
	Error      string
	ReceivedAt time.Time
	RemoteAddr string
	// Account is the account whose URL the request came to (account.Default for entries kept
	// before accounts existed).
	Account string
	// Header holds the kept request headers, under their original names.
	Header http.Header
	Body   []byte
}

// QuarantineEntry decodes a stored quarantine message.
func QuarantineEntry(m *jetstream.RawStreamMsg) *Quarantined {
	q := &Quarantined{
		ID:         m.Sequence,
		Reason:     m.Header.Get(HeaderQuarantineReason),
		Error:      m.Header.Get(HeaderQuarantineError),
		RemoteAddr: m.Header.Get(HeaderRemoteAddr),
		Account:    AccountOf(m.Header),
		Header:     http.Header{},
		Body:       m.Data,
	}
	q.ReceivedAt, _ = time.Parse(time.RFC3339Nano, m.Header.Get(HeaderReceivedAt))
	for name, values := range m.Header {
		if rest, ok := strings.CutPrefix(name, HeaderRequestPrefix); ok {
			q.Header[http.CanonicalHeaderKey(rest)] = values
		}
	}
	return q
}

// ParseQuarantineID reads an id as ingestctl users type it.
func ParseQuarantineID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("quarantine id %q: want the number shown by `ingestctl quarantine list` (the quarantine_id of the answer)", s)
	}
	return id, nil
}

// IsNotFound reports whether err says a stream message does not exist (never existed, or deleted).
func IsNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound)
}

// oneLine keeps a header value on one line: NATS headers end at a line break.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
