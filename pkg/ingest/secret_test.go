package ingest_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

func TestWebhookAuth(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		secret string
		reason string
	}{
		{"Missing", "", "missing"},
		{"Wrong", "not-the-secret-but-long-enough", "mismatch"},
		{"Prefix", testSecret[:len(testSecret)-1], "mismatch"},
		{"CaseChanged", strings.ToUpper(testSecret), "mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(testkit.Fixture(t)),
				ingest.DefaultSecretHeader, tt.secret, "Content-Type", jsonUTF8)

			msg := requireError(t, res, http.StatusUnauthorized, "unauthorized")
			require.Contains(t, msg, ingest.DefaultSecretHeader, "the message must name the header to set")
			require.False(t, res.contains(testSecret), "the answer must not reveal the secret: %s", res.body)
			require.NotContains(t, b.logs.String(), testSecret, "the log must not reveal the secret")
			require.Equal(t, uint64(0), b.msgs(t))
			require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": tt.reason}))
			other := map[string]string{"missing": "mismatch", "mismatch": "missing"}[tt.reason]
			require.Equal(t, 0.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": other}))
			require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "401"}))
		})
	}
}

// TestWebhookAuthBeforeBody shows that an unauthenticated sender learns nothing about the body:
// garbage and oversized bodies get the same 401.
func TestWebhookAuthBeforeBody(t *testing.T) {
	t.Parallel()
	b := setup(t, withMaxBody(64))
	for _, body := range []string{"not json", strings.Repeat("x", 1000)} {
		res := b.do(t, http.MethodPost, ingest.WebhookPath, strings.NewReader(body), "Content-Type", "text/plain")
		requireError(t, res, http.StatusUnauthorized, "unauthorized")
	}
	require.Equal(t, uint64(0), b.msgs(t))
}

func TestWebhookSecretRotation(t *testing.T) {
	t.Parallel()
	const (
		oldSecret = "old-secret-0123456789abcdefghij"
		newSecret = "new-secret-0123456789abcdefghij"
	)
	b := setup(t, withSecrets(oldSecret, newSecret))
	fix := testkit.Fixture(t)

	for i, secret := range []string{oldSecret, newSecret} {
		id := []string{"rotation-old", "rotation-new"}[i]
		res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(testkit.WithID(fix, id)),
			ingest.DefaultSecretHeader, secret, "Content-Type", jsonUTF8)
		ab := requireAccepted(t, res)
		require.Equal(t, id, ab.EventID)
	}
	require.Equal(t, uint64(2), b.msgs(t))

	// The secret the default setup uses is not one of these two.
	res := b.post(t, fix)
	requireError(t, res, http.StatusUnauthorized, "unauthorized")
	require.Equal(t, uint64(2), b.msgs(t))
}

func TestCheckSecrets(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("a", ingest.MinSecretLen)

	for name, secrets := range map[string][]string{
		"Nil":        nil,
		"Empty":      {},
		"Blank":      {"   "},
		"Short":      {"short"},
		"OneTooFew":  {exact[1:]},
		"OneIsShort": {testSecret, "short"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Error(t, ingest.CheckSecrets(secrets))
		})
	}

	t.Run("MinLength", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, ingest.CheckSecrets([]string{exact}))
	})
	t.Run("ErrorDoesNotRevealSecret", func(t *testing.T) {
		t.Parallel()
		err := ingest.CheckSecrets([]string{"tooshort-secret"})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "tooshort-secret")
	})
}

// The default account built from WEBHOOK_SECRETS accepts exactly those secrets, as the ingest
// did before accounts: each of them, byte for byte, and nothing else.
func TestDefaultAccountMatchesSecrets(t *testing.T) {
	t.Parallel()
	const other = "another-secret-abcdefghijklmnop"
	s := account.EnvDefault([]string{testSecret, " " + other}, ingest.DefaultSecretHeader, "")

	require.True(t, s.AcceptsSecret(testSecret))
	require.True(t, s.AcceptsSecret(other), "configured secrets are trimmed")
	require.False(t, s.AcceptsSecret(""))
	require.False(t, s.AcceptsSecret(" "+other), "a sent secret is not")
	require.False(t, s.AcceptsSecret(testSecret[:len(testSecret)-1]), "a prefix is not the secret")
	require.False(t, s.AcceptsSecret(testSecret[:ingest.MinSecretLen]), "a prefix is not the secret")
	require.False(t, s.AcceptsSecret(testSecret+"x"), "an extension is not the secret")
	require.False(t, s.AcceptsSecret(testSecret+","+other))
}

func TestSplitList(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"a", "b"}, ingest.SplitList(" a , ,b,"))
	require.Empty(t, ingest.SplitList(""))
	require.Empty(t, ingest.SplitList(" , "))
}

func TestLoadOrCreateSecret(t *testing.T) {
	t.Parallel()

	t.Run("CreatesThenLoads", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "fresh", "data")

		secret, created, err := ingest.LoadOrCreateSecret(dir)
		require.NoError(t, err)
		require.True(t, created)
		require.GreaterOrEqual(t, len(secret), 32)
		require.Equal(t, strings.TrimSpace(secret), secret)

		info, err := os.Stat(filepath.Join(dir, ingest.SecretFile))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

		require.NoError(t, ingest.CheckSecrets([]string{secret}), "a generated secret must be accepted as configuration")

		again, created, err := ingest.LoadOrCreateSecret(dir)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, secret, again)
	})
	t.Run("Distinct", func(t *testing.T) {
		t.Parallel()
		a, _, err := ingest.LoadOrCreateSecret(t.TempDir())
		require.NoError(t, err)
		b, _, err := ingest.LoadOrCreateSecret(t.TempDir())
		require.NoError(t, err)
		require.NotEqual(t, a, b)
	})
	t.Run("KeepsOperatorsSecret", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ingest.SecretFile), []byte("  "+testSecret+"\n"), 0o600))
		secret, created, err := ingest.LoadOrCreateSecret(dir)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, testSecret, secret)
	})
	t.Run("TooShort", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ingest.SecretFile), []byte("short\n"), 0o600))
		secret, created, err := ingest.LoadOrCreateSecret(dir)
		require.Error(t, err)
		require.Contains(t, err.Error(), "too short")
		require.False(t, created)
		require.Empty(t, secret)
	})
}
