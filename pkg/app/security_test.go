package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// Security checks of the real programs (issue 7): what they log, the files they leave, what they
// listen on, and how much of a request body they will read.

// uniq returns prefix followed by random hex, so that a string found in the logs can only have
// come from this test.
func uniq(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return prefix + hex.EncodeToString(b)
}

// person is lead data that must never be logged in clear.
type person struct {
	name, email, phone, address string
}

// withPerson is the fixture with another event id, event type and person.
func withPerson(t *testing.T, id, eventType string, p person) []byte {
	t.Helper()
	doc := testkit.Document(t, testkit.Fixture(t))
	doc["event_type"] = eventType
	pl := doc["payload"].(map[string]any)
	pl["id"] = id
	pl["unique_field_value"] = p.phone
	pd := pl["people_detail"].(map[string]any)
	pd["name"], pd["email"], pd["mobile_number"], pd["address"] = p.name, p.email, p.phone, p.address
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

// signedPost posts body with the given secret and signature headers (each left out when empty)
// and content type, and returns the status and the answer.
func signedPost(t *testing.T, url, secret, sig, contentType string, body []byte) (int, answer) {
	t.Helper()
	return signedPostTo(t, url+"/webhooks/saleassist", secret, sig, contentType, body)
}

// signedPostTo is signedPost to the webhook URL url (an account's, /webhooks/saleassist/<token>).
func signedPostTo(t *testing.T, url, secret, sig, contentType string, body []byte) (int, answer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if secret != "" {
		req.Header.Set("X-Webhook-Secret", secret)
	}
	if sig != "" {
		req.Header.Set("X-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	require.NoError(t, json.Unmarshal(raw, &a), "answer %s", raw)
	return resp.StatusCode, a
}

// The standalone program (ingest, embedded JetStream, in-process worker) is run with known
// secrets and known personal data through every path that logs: accepted events, refused
// requests (wrong and missing secret, wrong signature), quarantined bodies, too large bodies,
// schema-invalid events that are dead-lettered. Then everything it wrote is searched: no secret
// (configured or wrongly sent) and no name, email, phone or address appears in clear. The test
// first checks that the log does hold a line for each of those paths, so that it would catch a
// secret or a record logged there.
func TestLogsHoldNoSecretsOrLeadData(t *testing.T) {
	t.Parallel()
	secret, sigKey := uniq(t, "webhook-secret-"), uniq(t, "signing-key-")
	wrongSecret, wrongSig := uniq(t, "wrong-secret-"), testkit.HMACHex(uniq(t, "wrong-key-"), []byte("x"))
	p := person{
		name:    uniq(t, "Zebulon Quux "),
		email:   uniq(t, "zq.") + "@example.org",
		phone:   "+9198765" + fmt.Sprint(10000+time.Now().UnixNano()%90000),
		address: uniq(t, "42 Quixote Lane ") + ", Faridabad",
	}
	tb := startIngest(t, t.TempDir(), map[string]string{
		"WEBHOOK_SECRETS": secret, "WEBHOOK_SIGNATURE_SECRETS": sigKey,
	}, "-signature-header", "X-Signature", "-max-body", "65536")
	// A cmd/worker process beside the in-process one: either may take an event, both logs count.
	wlog := startWorker(t, tb).Stderr.(*testkit.SyncBuffer)
	allLogs := func() string { return tb.stderr.String() + wlog.String() }
	const ct = "application/json; charset=UTF-8"
	send := func(secret string, body []byte) (int, answer) {
		return signedPost(t, tb.url, secret, testkit.HMACHex(sigKey, body), ct, body)
	}

	valid := withPerson(t, "sec-valid-1", "widget_new_conversation", p)
	code, a := send(secret, valid)
	require.Equal(t, http.StatusAccepted, code, "%+v", a)
	code, a = send(secret, withPerson(t, "sec-other-1", "some_future_event", p))
	require.Equal(t, http.StatusAccepted, code, "%+v", a)

	// Refused: wrong secret, no secret, right secret with a wrong signature.
	code, _ = send(wrongSecret, valid)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = send("", valid)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = signedPost(t, tb.url, secret, wrongSig, ct, valid)
	require.Equal(t, http.StatusUnauthorized, code)

	// Kept in quarantine: not JSON (the seed's missing comma, with this person), wrong type.
	broken := bytes.Replace(valid, []byte(`"widget_location_source":`), []byte(`"widget_location_source" `), 1)
	code, a = send(secret, broken)
	require.Equal(t, http.StatusBadRequest, code, "%+v", a)
	require.NotEmpty(t, a.QuarantineID)
	code, a = signedPost(t, tb.url, secret, testkit.HMACHex(sigKey, valid), "text/plain", valid)
	require.Equal(t, http.StatusUnsupportedMediaType, code, "%+v", a)
	require.NotEmpty(t, a.QuarantineID)

	// Too large.
	big := append(valid[:len(valid)-1:len(valid)-1], []byte(`,"pad":"`+strings.Repeat("x", 70000)+`"}`)...)
	code, a = send(secret, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, "%+v", a)

	// Dead-lettered as schema-invalid: the person as one string instead of an object. Stored
	// with its violation recorded (and logged): a person whose address landed in a field with a
	// pattern (the validator's messages quote values that break a pattern).
	doc := testkit.Document(t, testkit.Fixture(t))
	pl := doc["payload"].(map[string]any)
	pl["id"] = "sec-invalid-1"
	pl["people_detail"] = strings.Join([]string{p.name, p.email, p.phone, p.address}, ", ")
	invalid1, err := json.Marshal(doc)
	require.NoError(t, err)
	code, a = send(secret, invalid1)
	require.Equal(t, http.StatusAccepted, code, "%+v", a)
	doc = testkit.Document(t, testkit.Fixture(t))
	pl = doc["payload"].(map[string]any)
	pl["id"] = "sec-invalid-2"
	pd := pl["people_detail"].(map[string]any)
	pd["name"], pd["email"], pd["widget_latitude"] = p.name, p.email, p.address
	invalid2, err := json.Marshal(doc)
	require.NoError(t, err)
	code, a = send(secret, invalid2)
	require.Equal(t, http.StatusAccepted, code, "%+v", a)

	awaitEvents(t, tb.openStore(t), 3)
	require.Eventually(t, func() bool {
		logs := allLogs()
		return strings.Contains(logs, `"msg":"event dead-lettered"`) && strings.Contains(logs, `"msg":"event stored with problems"`)
	}, 30*time.Second, 10*time.Millisecond, "waiting for a dead letter and an event stored with problems: %s", allLogs())
	tb.closeNow()

	logs := allLogs()
	require.Contains(t, wlog.String(), `"msg":"started","program":"worker"`)
	// The log covers the paths searched: otherwise a secret logged there would go unnoticed.
	for _, want := range []string{
		`"msg":"started"`, `"msg":"stopped"`,
		`"msg":"request refused","program":"ingest","reason":"mismatch"`,
		`"msg":"request refused","program":"ingest","reason":"missing"`,
		`"msg":"request refused","program":"ingest","reason":"bad_signature"`,
		`"msg":"event dead-lettered"`, `"reason":"invalid"`, `"event_id":"sec-invalid-1"`,
		`"msg":"event stored with problems"`, `"event_id":"sec-invalid-2"`, `/payload/people_detail/widget_latitude`,
	} {
		require.Contains(t, logs, want, "the log lacks a line the search relies on")
	}
	// Every line is slog's JSON: nothing reaches stderr around the logger.
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		require.True(t, json.Valid(sc.Bytes()), "not a JSON log line: %s", sc.Text())
	}

	phoneDigits := strings.TrimPrefix(p.phone, "+91")
	for what, s := range map[string]string{
		"webhook secret": secret, "signing key": sigKey, "wrong secret sent": wrongSecret,
		"wrong signature sent": wrongSig, "a valid signature": testkit.HMACHex(sigKey, valid),
		"name": p.name, "email": p.email, "email's local part": strings.Split(p.email, "@")[0],
		"phone": p.phone, "phone's national number": phoneDigits, "address": p.address,
	} {
		require.NotContains(t, logs, s, "%s in the log", what)
		require.NotContains(t, tb.stdout.String(), s, "%s in the banner", what)
	}
}

// After a standalone run has stored an event, every file under DATA_DIR (the generated secret,
// JetStream's store, leads.db and its -wal and -shm, the nats-url file) is readable by the
// owner only (0600) and every directory is 0700, whatever the umask.
func TestDataDirIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	tb := startIngest(t, dir, map[string]string{})
	raw, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	code, a := post(t, tb.url, strings.TrimSpace(string(raw)), testkit.Fixture(t))
	require.Equal(t, http.StatusAccepted, code, "%+v", a)
	st := tb.openStore(t)
	awaitEvents(t, st, 1)

	check := func() map[string]bool {
		seen := map[string]bool{}
		require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, path)
			seen[filepath.Base(path)] = true
			if d.IsDir() {
				require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "directory %s", rel)
			} else {
				require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "file %s", rel)
			}
			return nil
		}))
		return seen
	}
	// While running (the -wal and -shm files exist only while the database is open) ...
	seen := check()
	for _, name := range []string{"webhook-secret", "nats-url", "leads.db", "leads.db-wal", "leads.db-shm", "jetstream"} {
		require.True(t, seen[name], "%s not found under the data directory; the walk would not check it", name)
	}
	// ... and after shutdown.
	require.NoError(t, st.Close())
	tb.closeNow()
	check()
}

// Nothing that administers the pipeline listens beyond loopback unless asked: profiling is off
// (ingest and worker), and the embedded NATS, through which ingestctl reads, replays and deletes
// events, listens on 127.0.0.1 and refuses an address beyond loopback unless
// EMBEDDED_NATS_ALLOW_REMOTE says so. A pprof address beyond loopback is allowed, as pprof.go
// intends (a profiler may run elsewhere), but warned about in the log. Neither the ingest's port
// nor the worker's (both listen on every interface by default) serves /debug/pprof/: importing
// net/http/pprof registers it on http.DefaultServeMux, which neither program may serve.
func TestAdminEndpointsAreLoopbackByDefault(t *testing.T) {
	t.Parallel()
	in := ingestapp.New()
	in.Env = envOf(map[string]string{})
	require.NoError(t, in.ParseFlags(nil))
	require.Empty(t, in.Config.PprofAddr, "PPROF_ADDR default")
	host, _, err := net.SplitHostPort(in.Config.EmbeddedNATSAddr)
	require.NoError(t, err)
	require.True(t, net.ParseIP(host).IsLoopback(), "EMBEDDED_NATS_ADDR default %q", in.Config.EmbeddedNATSAddr)

	w := workerapp.New()
	w.Env = envOf(map[string]string{})
	require.NoError(t, w.ParseFlags(nil))
	require.Empty(t, w.Config.PprofAddr, "the worker's PPROF_ADDR default")

	// The embedded NATS has no authentication: beyond loopback only when explicitly allowed.
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		m := ingestapp.New()
		m.Env, m.Stdout, m.Stderr = envOf(map[string]string{"WEBHOOK_SECRETS": testSecret}), &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
		require.NoError(t, m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-embedded-nats-addr", addr, "-console-addr", ""}))
		err := m.Run(context.Background())
		require.NoError(t, m.Close())
		require.ErrorContains(t, err, "EMBEDDED_NATS_ALLOW_REMOTE", "EMBEDDED_NATS_ADDR=%s", addr)
	}
	remote := setup(t, "-embedded-nats-addr", "0.0.0.0:0", "-embedded-nats-allow-remote")
	require.NotEmpty(t, remote.ingest.EmbeddedNATSURL())

	byDefault := setup(t)
	for _, base := range []string{byDefault.url, "http://" + startWorker(t, byDefault).Addr()} {
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/vars"} {
			resp, err := http.Get(base + path)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s%s", base, path)
		}
	}

	tb := setup(t, "-pprof-addr", "0.0.0.0:0")
	require.Contains(t, tb.stderr.String(), `"level":"WARN","msg":"pprof endpoints listen beyond loopback`)
	loop := setup(t, "-pprof-addr", "127.0.0.1:0")
	require.NotContains(t, loop.stderr.String(), "beyond loopback")
	require.Contains(t, loop.stderr.String(), `"msg":"pprof endpoints on"`)
}

// Every endpoint that reads a body caps it. The webhook refuses a body over MAX_BODY_BYTES with
// 413 and a JSON error naming the limit and the setting, without reading the rest: a client that
// announces 64 MiB gets its answer before sending it, one that streams without a length
// (chunked) is cut off near the limit, and a gzip body is capped after decompression. The other
// endpoints (health, readiness, metrics), the ingest's and a cmd/worker's, answer without
// reading a body at all.
func TestBodiesAreCapped(t *testing.T) {
	t.Parallel()
	const limit = 4096
	tb := setup(t, "-max-body", fmt.Sprint(limit))
	addr := strings.TrimPrefix(tb.url, "http://")
	tooLarge := func(resp *http.Response) {
		t.Helper()
		var a answer
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%+v", a)
		require.Equal(t, "too_large", a.Error)
		require.Contains(t, a.Message, fmt.Sprint(limit), "the message names the limit")
		require.Contains(t, a.Message, "MAX_BODY_BYTES", "the message names the setting to raise")
	}
	head := "POST /webhooks/saleassist HTTP/1.1\r\nHost: x\r\nX-Webhook-Secret: " + testSecret +
		"\r\nContent-Type: application/json\r\n"

	// Announced too large: the answer comes although the body never does.
	resp := rawRequest(t, addr, head+fmt.Sprintf("Content-Length: %d\r\n\r\n", 64<<20), nil)
	tooLarge(resp)

	// Streamed without a length: the server stops reading near the limit. The client keeps
	// sending up to 64 MiB; what it got through (the server's reads plus socket buffers) must
	// be far less.
	sent := 0
	resp = rawRequest(t, addr, head+"Transfer-Encoding: chunked\r\n\r\n", func(w io.Writer) {
		chunk := fmt.Appendf(nil, "%x\r\n%s\r\n", 64<<10, bytes.Repeat([]byte("x"), 64<<10))
		for sent < 64<<20 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent += 64 << 10
		}
	})
	tooLarge(resp)
	require.Less(t, sent, 32<<20, "the client got %d bytes through: the server read far past the limit", sent)

	// Compressed small, large once decompressed.
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	_, err := zw.Write(append([]byte(`{"event_type":"x","payload":{"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.Less(t, zbuf.Len(), limit)
	req, err := http.NewRequest(http.MethodPost, tb.url+"/webhooks/saleassist", &zbuf)
	require.NoError(t, err)
	req.Header.Set("X-Webhook-Secret", testSecret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	tooLarge(resp)
	resp.Body.Close()

	// Without the secret the body is not read at all: the answer is 401 before it is sent.
	resp = rawRequest(t, addr, "POST /webhooks/saleassist HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n\r\n", 64<<20), nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The other endpoints answer without waiting for a body.
	for _, a := range []string{addr, startWorker(t, tb).Addr()} {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			resp := rawRequest(t, a, "POST "+path+" HTTP/1.1\r\nHost: x\r\n"+fmt.Sprintf("Content-Length: %d\r\n\r\n", 64<<20), nil)
			require.NotEqual(t, 0, resp.StatusCode, "%s%s", a, path)
		}
	}
}

// rawRequest writes head on a new connection to addr, then runs body (if any) in the background
// while it reads the answer; it fails the test unless the answer comes within 10 s. The
// connection is closed, and body has returned, when rawRequest returns.
func rawRequest(t *testing.T, addr, head string, body func(io.Writer)) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if body != nil {
			body(conn)
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer: the server is waiting for the body")
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(t, err)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	require.NoError(t, conn.Close())
	<-done
	return resp
}

// Credentials in NATS_URL (user:password, or a token in the user's place, the only ways the
// programs authenticate to a NATS server of their own) are secrets too. The ingest and a
// cmd/worker connect with them, store an event, reconnect after the server restarts, and store
// another; then both are started with a wrong password or token, and with the right one against a
// server that is down (the ingest waits for it). Neither their logs, nor the errors they exit
// with, nor the ingest's readiness answer hold the password or the token; each still names the
// server's address.
func TestNATSCredentialsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		auth func(o *server.Options, secret string)
		url  func(secret, addr string) string
	}{
		{
			name: "user and password",
			auth: func(o *server.Options, secret string) { o.Username, o.Password = "pipeline", secret },
			url:  func(secret, addr string) string { return "nats://pipeline:" + secret + "@" + addr },
		},
		{
			name: "token",
			auth: func(o *server.Options, secret string) { o.Authorization = secret },
			url:  func(secret, addr string) string { return "nats://" + secret + "@" + addr },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret, wrong := uniq(t, "nats-secret-"), uniq(t, "nats-wrong-")
			addr, storeDir := freeAddr(t), t.TempDir()
			host, p, err := net.SplitHostPort(addr)
			require.NoError(t, err)
			port, err := strconv.Atoi(p)
			require.NoError(t, err)
			var srv *server.Server
			startNATS := func() {
				o := &server.Options{Host: host, Port: port, JetStream: true, StoreDir: storeDir, NoLog: true, NoSigs: true}
				tc.auth(o, secret)
				srv, err = server.NewServer(o)
				require.NoError(t, err)
				srv.Start()
				require.True(t, srv.ReadyForConnections(10*time.Second), "nats-server on %s", addr)
			}
			startNATS()
			// Registered first, so it runs after the programs have closed.
			t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
			url := tc.url(secret, addr)

			tb := startIngest(t, t.TempDir(), nil, "-nats-url", url)
			db := filepath.Join(t.TempDir(), "leads.db")
			wlog := &testkit.SyncBuffer{}
			w := workerapp.New()
			w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": url, "DATABASE_URL": db}), wlog
			require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
			require.NoError(t, w.Run(context.Background()))
			t.Cleanup(func() { require.NoError(t, w.Close()) })
			st, err := sqlite.Open(context.Background(), db)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			tb.post(t, variant(t, "nats-cred-1", "cred1@example.com", ""))
			awaitEvents(t, st, 1)

			// Restarted: both log the reconnection, with the URL they reconnected to.
			srv.Shutdown()
			srv.WaitForShutdown()
			startNATS()
			require.Eventually(t, func() bool {
				return strings.Contains(tb.stderr.String(), `"msg":"reconnected to NATS"`) &&
					strings.Contains(wlog.String(), `"msg":"reconnected to NATS"`)
			}, 30*time.Second, 10*time.Millisecond, "ingest: %s\nworker: %s", tb.stderr, wlog)
			require.Eventually(t, func() bool {
				code, _ := post(t, tb.url, testSecret, variant(t, "nats-cred-2", "cred2@example.com", ""))
				return code == http.StatusAccepted
			}, 30*time.Second, 50*time.Millisecond)
			awaitEvents(t, st, 2)

			// A wrong password or token: both programs refuse to start, with an error that names
			// the address. The right one for a server that is down: both wait for the server, and
			// say on /readyz why.
			logs := []string{tb.stdout.String(), tb.stderr.String(), wlog.String()}
			var errs []string
			for i, u := range []string{tc.url(wrong, addr), tc.url(secret, freeAddr(t))} {
				down := i == 1
				host := u[strings.LastIndex(u, "@")+1:]
				var stdout, stderr testkit.SyncBuffer
				in := ingestapp.New()
				in.Env, in.Stdout, in.Stderr = envOf(map[string]string{"WEBHOOK_SECRETS": testSecret}), &stdout, &stderr
				require.NoError(t, in.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-nats-url", u}))
				err := in.Run(context.Background())
				if down {
					require.NoError(t, err, "ingest with NATS_URL %s", u)
					code, _, a := get(t, "http://"+in.Addr()+"/readyz")
					require.Equal(t, http.StatusServiceUnavailable, code)
					require.Contains(t, a.Message, host, "readiness names the server")
					errs = append(errs, a.Message)
				} else {
					require.Error(t, err, "ingest with NATS_URL %s", u)
					require.Contains(t, err.Error(), host, "the error names the server")
					errs = append(errs, err.Error())
				}
				require.NoError(t, in.Close())

				// The worker, like the ingest, waits for a server that is down (its /readyz says
				// why), and fails (at once or a moment later, when nats.go gives up) on refused
				// credentials, naming the server.
				wk := workerapp.New()
				wk.Env, wk.Stderr = envOf(map[string]string{"NATS_URL": u, "DATABASE_URL": filepath.Join(t.TempDir(), "leads.db")}), &stderr
				require.NoError(t, wk.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
				err = wk.Run(context.Background())
				if down {
					require.NoError(t, err, "worker with NATS_URL %s", u)
					code, _, a := get(t, "http://"+wk.Addr()+"/readyz")
					require.Equal(t, http.StatusServiceUnavailable, code)
					errs = append(errs, a.Message)
				} else {
					if err == nil {
						select {
						case err = <-wk.Failed():
						case <-time.After(30 * time.Second):
						}
					}
					require.Error(t, err, "worker with NATS_URL %s", u)
					require.Contains(t, err.Error(), host, "the error names the server")
					errs = append(errs, err.Error())
				}
				require.NoError(t, wk.Close())
				logs = append(logs, stdout.String(), stderr.String())
			}

			all := strings.Join(append(logs, errs...), "\n")
			require.Contains(t, all, `"msg":"started","program":"worker"`)
			for what, s := range map[string]string{"the NATS password or token": secret, "a wrong one": wrong} {
				require.NotContains(t, all, s, "%s in a log or error:\n%s", what, all)
			}
		})
	}
}

// A database URL with a password must not bring the password into the worker's answers or log:
// here the PostgreSQL server is unreachable (a closed port), and the worker waits for it, saying
// on /readyz and in its log what failed, with the URL's password masked.
func TestDatabaseCredentialsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	srv, err := embedded.Start(embedded.Options{DataDir: t.TempDir(), Listen: addr})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	secret := uniq(t, "db-secret-")
	closed := freeAddr(t)
	var wlog testkit.SyncBuffer
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": "nats://" + addr,
		"DATABASE_URL": "postgres://pipeline:" + secret + "@" + closed + "/leads?connect_timeout=5"}), &wlog
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	// An unreachable PostgreSQL is waited for (issue 21): /readyz says why, naming the URL with
	// its password masked, and so does the log.
	require.NoError(t, w.Run(context.Background()))
	resp, err := http.Get("http://" + w.Addr() + "/readyz")
	require.NoError(t, err)
	why := readAll(t, resp)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NoError(t, w.Close())
	require.Contains(t, why, "open postgres postgres://pipeline:xxxxx@"+closed+"/leads")
	require.Contains(t, why, "connect")
	require.Contains(t, wlog.String(), "cannot consume yet")
	require.NotContains(t, why+wlog.String(), secret)

	// A password given as a parameter is masked too, and a URL of another scheme is refused.
	for _, u := range []string{"postgresql://" + closed + "/leads?user=pipeline&password=" + secret + "&connect_timeout=5",
		"mysql://pipeline:" + secret + "@" + closed + "/leads"} {
		w := workerapp.New()
		w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": "nats://" + addr, "DATABASE_URL": u}), &wlog
		require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
		err = w.Run(context.Background())
		require.NoError(t, w.Close())
		if strings.HasPrefix(u, "mysql:") {
			require.Error(t, err, "another scheme is refused")
			require.NotContains(t, err.Error(), secret)
		}
		require.NotContains(t, wlog.String(), secret)
	}
}
