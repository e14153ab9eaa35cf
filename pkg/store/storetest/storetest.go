// Package storetest is the conformance suite every store.Store implementation must pass, so
// that SQLite and PostgreSQL dedupe, match and merge leads identically: Run with one handle per
// test, RunShared with several handles on one database writing at once (workers on several
// hosts).
package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Run runs the suite against the implementation that open returns. Every subtest calls open for
// a fresh, empty store and runs in parallel with the others, so open must give out independent
// stores (a new file or schema each time) and register their Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"NewLead", testNewLead},
		{"DuplicateInSeparateBatches", testDuplicateSeparateBatches},
		{"DuplicateInOneBatch", testDuplicateOneBatch},
		{"SameEmailOneLead", testSameEmail},
		{"PhoneOnlyJoinsPhoneLead", testPhoneOnly},
		{"EmailJoinsEmailLessPhoneLead", testEmailLessThenEmail},
		{"SamePhoneDifferentEmailTwoLeads", testSamePhoneDifferentEmail},
		{"PhoneMatchSkipsLeadOfSomeoneElse", testPhoneMatchSkipsOtherEmail},
		{"NoEmailNoPhoneAlwaysNewLead", testNoEmailNoPhone},
		{"NewerWinsOlderFillsGaps", testNewerWinsOlderFills},
		{"RecordWithoutLead", testNoLead},
		{"InvalidStored", testInvalid},
		{"InvalidEventsNewestFirst", testInvalidEvents},
		{"MeetingUpserted", testMeeting},
		{"BadRecordIsolated", testBadRecordIsolated},
		{"NULStorable", testNULStorable},
		{"ConcurrentApplyExactlyOnce", testConcurrent},
		{"Counts", testCounts},
		{"NotFound", testNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 is the SaleAssist time of the first information in every test.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// record builds a widget_new_conversation record whose payload names its event id.
func record(id string, l *pipeline.Lead) pipeline.Record {
	return pipeline.Record{
		EventID:    id,
		EventType:  "widget_new_conversation",
		ReceivedAt: t0.Add(time.Second),
		Payload:    fmt.Appendf(nil, `{"event_type":"widget_new_conversation","payload":{"id":%q},"metadata":{}}`, id),
		Lead:       l,
	}
}

// apply applies records, requires the batch and every record to succeed, and returns the results.
func apply(t *testing.T, s store.Store, records ...pipeline.Record) []pipeline.Result {
	t.Helper()
	res, err := s.Apply(t.Context(), records)
	require.NoError(t, err)
	require.Len(t, res, len(records))
	for i, r := range res {
		require.NoError(t, r.Err, "record %d (%s)", i, records[i].EventID)
	}
	return res
}

// stored applies one record, requires it to be Stored, and returns its lead id.
func stored(t *testing.T, s store.Store, rec pipeline.Record) int64 {
	t.Helper()
	r := apply(t, s, rec)[0]
	require.Equal(t, pipeline.Stored, r.Outcome, rec.EventID)
	return r.LeadID
}

func getLead(t *testing.T, s store.Store, id int64) *store.StoredLead {
	t.Helper()
	l, err := s.Lead(t.Context(), "", id)
	require.NoError(t, err)
	require.Equal(t, id, l.ID)
	return l
}

// requireLead checks that got holds exactly want's information.
func requireLead(t *testing.T, want pipeline.Lead, got *store.StoredLead) {
	t.Helper()
	require.True(t, want.SeenAt.Equal(got.SeenAt), "seen_at: want %v, got %v", want.SeenAt, got.SeenAt)
	g := got.Lead
	g.SeenAt = want.SeenAt
	if len(g.Attributes) == 0 && len(want.Attributes) == 0 {
		g.Attributes = want.Attributes
	}
	require.Equal(t, want, g)
}

func counts(t *testing.T, s store.Store) store.Counts {
	t.Helper()
	c, err := s.Counts(t.Context(), "")
	require.NoError(t, err)
	return c
}

// attrs builds lead attributes from compact JSON values.
func attrs(kv ...string) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}
