package queue_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func TestSubjectToken(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, in, want string
	}{
		{"documented type unchanged", "widget_new_conversation", "widget_new_conversation"},
		{"safe name unchanged", "Lead-Updated_v2", "Lead-Updated_v2"},
		{"digits unchanged", "2024", "2024"},
		{"dots", "lead.created.v1", "lead_created_v1"},
		{"star wildcard", "*", "_"},
		{"tail wildcard", ">", "_"},
		{"wildcards inside", "a*b>c", "a_b_c"},
		{"spaces and tabs", "new conversation\tx", "new_conversation_x"},
		{"newline", "a\nb", "a_b"},
		{"mixed", "weird.type *>", "weird_type___"},
		{"unicode: one _ per byte", "é", "__"},
		{"unicode word", "naïve", "na__ve"},
		{"empty", "", "_"},
		{"only dots", "...", "___"},
		{"dollar and slash", "$JS/api", "_JS_api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, queue.SubjectToken(tt.in))
		})
	}
}

// requireOneToken checks that subject is prefix, the account, and exactly one valid NATS token.
func requireOneToken(t testing.TB, prefix, subject string) {
	t.Helper()
	require.True(t, strings.HasPrefix(subject, prefix+".default."), "subject %q lacks prefix %q and the default account", subject, prefix)
	tokens := strings.Split(subject, ".")
	require.Len(t, tokens, strings.Count(prefix, ".")+3, "subject %q", subject)
	tok := tokens[len(tokens)-1]
	require.NotEmpty(t, tok, "subject %q", subject)
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		require.True(t, ok, "subject %q has byte %q in its last token", subject, c)
	}
}

func TestConfigSubject(t *testing.T) {
	t.Parallel()
	cfg := queue.DefaultConfig()
	require.Equal(t, "saleassist.events.default.widget_new_conversation", cfg.Subject("", "widget_new_conversation"))
	require.Equal(t, "saleassist.events.acme.widget_new_conversation", cfg.Subject("acme", "widget_new_conversation"))

	inputs := []string{"", ".", "..", "a.", ".a", "*", ">", "a b", "\x00", "\xff\xfe", "日本語", "weird.type *>",
		strings.Repeat("t", 128), strings.Repeat(".", 128), "widget_new_conversation"}
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for _, in := range inputs {
		requireOneToken(t, cfg.SubjectPrefix, cfg.Subject("", in))
	}
}

// FuzzSubjectToken: whatever the event type, the subject stays inside the stream's
// saleassist.events.> filter with exactly one token after the prefix and the account.
func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"", "widget_new_conversation", "a.b", "*", ">", " ", "é"} {
		f.Add(s)
	}
	cfg := queue.DefaultConfig()
	f.Fuzz(func(t *testing.T, s string) {
		tok := queue.SubjectToken(s)
		if len(tok) != max(len(s), 1) {
			t.Fatalf("SubjectToken(%q) = %q: want one byte per input byte", s, tok)
		}
		requireOneToken(t, cfg.SubjectPrefix, cfg.Subject("", s))
	})
}

func TestLookupStream_CreatesMissingStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	_, err := b.js.Stream(ctx, b.cfg.Stream)
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound)

	s, err := queue.LookupStream(ctx, b.js, b.cfg)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, b.cfg.Stream, info.Config.Name)
	require.Equal(t, []string{"saleassist.events.>"}, info.Config.Subjects)
	require.Equal(t, jetstream.FileStorage, info.Config.Storage)
	require.Equal(t, jetstream.WorkQueuePolicy, info.Config.Retention)
	require.Equal(t, jetstream.DiscardNew, info.Config.Discard)
	require.Equal(t, b.cfg.MaxBytes, info.Config.MaxBytes)
	require.Equal(t, b.cfg.Duplicates, info.Config.Duplicates)

	// A second lookup finds it.
	again, err := queue.LookupStream(ctx, b.js, b.cfg)
	require.NoError(t, err)
	require.Equal(t, b.cfg.Stream, again.CachedInfo().Config.Name)
}

func TestLookupStream_ConcurrentFirstLookups(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// Workers starting together before any ingest all get the stream.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := queue.LookupStream(t.Context(), b.js, b.cfg)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	names := b.js.StreamNames(t.Context())
	var got []string
	for n := range names.Name() {
		got = append(got, n)
	}
	require.NoError(t, names.Err())
	require.Equal(t, []string{b.cfg.Stream}, got)
}

func TestLookupStream_LeavesExistingConfig(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	ingestCfg := b.cfg
	ingestCfg.MaxBytes = 1 << 20
	ingestCfg.Duplicates = time.Minute
	_, err := queue.EnsureStream(ctx, b.js, ingestCfg)
	require.NoError(t, err)

	workerCfg := b.cfg // MaxBytes 64 MiB, Duplicates 2m
	require.NotEqual(t, ingestCfg.MaxBytes, workerCfg.MaxBytes)
	s, err := queue.LookupStream(ctx, b.js, workerCfg)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1<<20), info.Config.MaxBytes)
	require.Equal(t, time.Minute, info.Config.Duplicates)

	// EnsureStream, by contrast, is how the ingest changes the limits.
	ingestCfg.MaxBytes = 2 << 20
	s, err = queue.EnsureStream(ctx, b.js, ingestCfg)
	require.NoError(t, err)
	info, err = s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2<<20), info.Config.MaxBytes)
}

func TestConsumerAccount(t *testing.T) {
	t.Parallel()
	c := queue.DefaultConfig()
	for _, id := range []string{account.Default, "acme", "brand-2"} {
		got, ok := c.ConsumerAccount(c.AccountConsumer(id))
		require.True(t, ok, id)
		require.Equal(t, id, got)
	}
	for _, name := range []string{"other", "saleassist-worker-", "saleassist-worker-Bad", "saleassist-worker-default", "saleassist-workers"} {
		_, ok := c.ConsumerAccount(name)
		require.False(t, ok, name)
	}
}
