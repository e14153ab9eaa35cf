package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// Shared by every test file of the package: the secret the default setup configures.
const (
	testSecret = "s3cret-for-tests-0123456789abcdef"
	jsonUTF8   = "application/json; charset=UTF-8"
)

// testBundle is everything a test needs to drive the ingest through real HTTP against a real
// embedded JetStream, and to look behind it.
type testBundle struct {
	srv      *ingest.Server
	http     *httptest.Server
	client   *http.Client
	embedded *embedded.Server
	stream   jetstream.Stream
	// quarantine is the stream authenticated bodies the ingest could not accept are kept in.
	quarantine jetstream.Stream
	reg        *prometheus.Registry
	logs       *testkit.SyncBuffer
	// accounts is the registry the ingest serves: the default account from the setup's secrets,
	// and those withAccounts added; a test may Set it while the ingest runs.
	accounts *account.Registry
	// disconnected is closed once the ingest's NATS connection has noticed a disconnect.
	disconnected chan struct{}
}

type setupOptions struct {
	maxBody        int64
	secrets        []string
	auth           ingest.AuthConfig
	publishTimeout time.Duration
	streamMaxBytes int64
	accounts       []account.Account
	// wrap, when set, replaces the real publisher the server uses (only to simulate a panic).
	wrap func(ingest.Publisher) ingest.Publisher
}

type option func(*setupOptions)

func withMaxBody(n int64) option     { return func(o *setupOptions) { o.maxBody = n } }
func withSecrets(s ...string) option { return func(o *setupOptions) { o.secrets = s } }

// withAuth replaces the authentication (secrets, signature, source ranges); AuthConfig.Secrets
// defaults to the bundle's secrets.
func withAuth(c ingest.AuthConfig) option { return func(o *setupOptions) { o.auth = c } }
func withPublishTimeout(d time.Duration) option {
	return func(o *setupOptions) { o.publishTimeout = d }
}

// withAccounts serves these accounts beside the default one.
func withAccounts(a ...account.Account) option {
	return func(o *setupOptions) { o.accounts = append(o.accounts, a...) }
}
func withStreamMaxBytes(n int64) option { return func(o *setupOptions) { o.streamMaxBytes = n } }
func withPublisher(wrap func(ingest.Publisher) ingest.Publisher) option {
	return func(o *setupOptions) { o.wrap = wrap }
}

// setup starts an in-process embedded nats-server with JetStream in a temporary directory, the
// events stream, the real publisher, and the ingest behind an httptest server; all are stopped
// when the test ends.
func setup(tb testing.TB, opts ...option) *testBundle {
	tb.Helper()
	o := setupOptions{
		secrets:        []string{testSecret},
		publishTimeout: 2 * time.Second,
		streamMaxBytes: 64 << 20,
	}
	for _, opt := range opts {
		opt(&o)
	}
	disconnected := make(chan struct{})
	var once sync.Once
	k := testkit.StartJetStream(tb, testkit.WithConnOptions(
		nats.DisconnectErrHandler(func(*nats.Conn, error) { once.Do(func() { close(disconnected) }) }),
	))
	e, nc := k.Server, k.Conn

	qc := k.Config
	qc.MaxBytes = o.streamMaxBytes
	pub, err := queue.NewPublisher(nc, qc, o.publishTimeout)
	require.NoError(tb, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := queue.EnsureStream(ctx, pub.JetStream(), qc)
	require.NoError(tb, err)
	quarantine, err := pub.JetStream().Stream(ctx, qc.QuarantineStream)
	require.NoError(tb, err)

	ac := o.auth
	if ac.SecretHeader == "" && ac.SignatureHeader == "" {
		ac.SecretHeader = ingest.DefaultSecretHeader
	}
	if ac.Secrets == nil {
		ac.Secrets = o.secrets
	}
	auth, err := ingest.NewAuth(ac)
	require.NoError(tb, err)
	// The default account as the program builds it from WEBHOOK_SECRETS and -secret-header.
	accounts := account.NewRegistry(append([]account.Account{account.EnvDefault(ac.Secrets, ac.SecretHeader, "")}, o.accounts...)...)
	cfg := ingest.Config{Auth: auth, Accounts: accounts, MaxBody: o.maxBody}
	var p ingest.Publisher = pub
	if o.wrap != nil {
		p = o.wrap(pub)
	}
	ready := func(ctx context.Context) error {
		if st := nc.Status(); st != nats.CONNECTED {
			return errors.New("NATS connection is " + st.String())
		}
		_, err := pub.JetStream().Stream(ctx, qc.Stream)
		return err
	}
	reg := prometheus.NewRegistry()
	logs := &testkit.SyncBuffer{}
	srv := ingest.NewServer(cfg, p, ready, ingest.NewMetrics(reg),
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		slog.New(slog.NewJSONHandler(logs, nil)))
	// Served as the program serves it: on a listener that watches request framing.
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = ingest.GuardFraming(hs.Config, hs.Listener)
	hs.Start()
	tb.Cleanup(hs.Close)

	return &testBundle{
		srv: srv, http: hs, client: hs.Client(), embedded: e, stream: stream, quarantine: quarantine,
		reg: reg, logs: logs, disconnected: disconnected, accounts: accounts,
	}
}

// response is an answer read to the end.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// acceptedBody is the contract's 202 answer.
type acceptedBody struct {
	Status    string `json:"status"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// do sends a request to the ingest and reads the whole answer. headers are name, value pairs; a
// header with an empty value is not sent.
func (b *testBundle) do(tb testing.TB, method, path string, body io.Reader, headers ...string) response {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, b.http.URL+path, body)
	require.NoError(tb, err)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := roundTrip(b.client, req)
	require.NoError(tb, err)
	return res
}

// post sends body to the webhook with the right secret and a JSON content type.
func (b *testBundle) post(tb testing.TB, body []byte) response {
	tb.Helper()
	return b.do(tb, http.MethodPost, ingest.WebhookPath, bytes.NewReader(body),
		ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8)
}

// msgs is how many messages the events stream holds right now.
func (b *testBundle) msgs(tb testing.TB) uint64 {
	tb.Helper()
	info, err := b.stream.Info(tb.Context())
	require.NoError(tb, err)
	return info.State.Msgs
}

// requireError checks an answer is the contract's JSON error with the given status and code, and
// returns its message.
func requireError(tb testing.TB, res response, status int, code string) string {
	tb.Helper()
	require.Equal(tb, status, res.status, "body: %s", res.body)
	require.Equal(tb, "application/json", res.header.Get("Content-Type"))
	var eb errorBody
	require.NoError(tb, json.Unmarshal(res.body, &eb), "body: %s", res.body)
	require.Equal(tb, code, eb.Error, "body: %s", res.body)
	require.NotEmpty(tb, eb.Message)
	return eb.Message
}

// requireAccepted checks an answer is the 202 of the contract and returns it.
func requireAccepted(tb testing.TB, res response) acceptedBody {
	tb.Helper()
	require.Equal(tb, http.StatusAccepted, res.status, "body: %s", res.body)
	require.Equal(tb, "application/json", res.header.Get("Content-Type"))
	var ab acceptedBody
	require.NoError(tb, json.Unmarshal(res.body, &ab), "body: %s", res.body)
	require.Equal(tb, "accepted", ab.Status)
	return ab
}

// contains reports whether a whole answer (status line aside) mentions s anywhere.
func (r response) contains(s string) bool {
	if bytes.Contains(r.body, []byte(s)) {
		return true
	}
	for k, vs := range r.header {
		if strings.Contains(k, s) {
			return true
		}
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

// defaultAccount is the default account of the default setup (testSecret in X-Webhook-Secret),
// for tests that call Auth directly.
var defaultAccount = func() *account.Account {
	a := account.EnvDefault([]string{testSecret}, ingest.DefaultSecretHeader, "")
	return &a
}()
