package testkit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

func TestDecodeNumbersDecodesAsTheWorker(t *testing.T) {
	t.Parallel()
	// 2^53+1 is not a float64: only json.Number keeps it.
	body := []byte(`{"payload":{"id":9007199254740993}} trailing bytes the worker never reads`)
	var doc map[string]any
	require.NoError(t, testkit.DecodeNumbers(body, &doc))
	require.Equal(t, json.Number("9007199254740993"), doc["payload"].(map[string]any)["id"])

	want, err := jsonscan.Decode(body)
	require.NoError(t, err)
	require.Equal(t, want, doc, "the same document as the worker's decoder")
	require.Equal(t, want, testkit.Document(t, body))

	var v any
	require.Error(t, testkit.DecodeNumbers([]byte(`{"a":`), &v))
}

func TestHMAC(t *testing.T) {
	t.Parallel()
	// RFC 4231, test case 2.
	require.Equal(t, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		testkit.HMACHex("Jefe", []byte("what do ya want for nothing?")))
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("body"))
	require.Equal(t, m.Sum(nil), testkit.HMAC("k", []byte("body")))
	require.Equal(t, hex.EncodeToString(m.Sum(nil)), testkit.HMACHex("k", []byte("body")))
}

func TestEvents(t *testing.T) {
	t.Parallel()
	before := time.Now()
	ev := testkit.FixtureEvent(t, "ev-1")
	require.Equal(t, "ev-1", ev.ID)
	require.Equal(t, pipeline.WidgetNewConversation, ev.Type)
	require.Equal(t, time.UTC, ev.ReceivedAt.Location())
	require.False(t, ev.ReceivedAt.Before(before.Truncate(time.Second)))
	head, err := pipeline.ParseHead(ev.Body)
	require.NoError(t, err)
	require.Equal(t, "ev-1", head.ID, "payload.id follows the event id")

	at := time.Date(2024, 7, 11, 10, 0, 0, 0, time.UTC)
	require.Equal(t, &pipeline.Event{ID: "a", Type: "t", ReceivedAt: at, Body: []byte("{}")},
		testkit.EventAt("a", "t", []byte("{}"), at))
}

func TestEditFixture(t *testing.T) {
	t.Parallel()
	body := testkit.EditFixture(t, "ev-2", func(env, payload, person map[string]any) {
		env["event_type"] = "other"
		delete(payload, "meta")
		person["email"] = "asha@example.in"
	})
	doc := testkit.Document(t, body)
	require.Equal(t, "other", doc["event_type"])
	payload := doc["payload"].(map[string]any)
	require.Equal(t, "ev-2", payload["id"])
	require.NotContains(t, payload, "meta")
	require.Equal(t, "asha@example.in", payload["people_detail"].(map[string]any)["email"])

	// Unedited, it is the fixture with another id, numbers written back as sent.
	// (json.Number compares the literals, so a number rewritten as 1.72e+12 would fail).
	want := testkit.Document(t, testkit.WithID(testkit.Fixture(t), "ev-3"))
	require.Equal(t, want, testkit.FixtureDocument(t, "ev-3", nil))
	require.Equal(t, want, testkit.Document(t, testkit.EditFixture(t, "ev-3", nil)))
}

func TestSharedFixturesDir(t *testing.T) {
	t.Parallel()
	dir, ok := testkit.SharedFixturesDir(t)
	require.Equal(t, "fixtures", filepath.Base(dir))
	require.Equal(t, "shared", filepath.Base(filepath.Dir(dir)))
	root := filepath.Dir(filepath.Dir(testkit.FixturesDir(t)))
	require.Equal(t, filepath.Dir(root), filepath.Dir(filepath.Dir(dir)), "beside the repository")
	if ok {
		require.DirExists(t, dir)
	} else {
		require.NoDirExists(t, dir)
	}
}
