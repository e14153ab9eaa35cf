package ingestapp

import (
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Config is cmd/ingest's configuration; see the README's contract for each setting.
type Config struct {
	Addr    string
	NatsURL string
	DataDir string
	// DB is the standalone worker's database (storeurl); empty means DataDir/leads.db.
	DB               string
	MaxBody          int64
	SecretHeader     string
	Secrets          []string
	SignatureHeader  string
	SignatureSecrets []string
	AllowedCIDRs     string
	TrustedProxies   string
	QuarantineMax    int64
	EmbeddedNATSAddr string
	// EmbeddedNATSRemote allows EmbeddedNATSAddr beyond loopback (the server has no auth).
	EmbeddedNATSRemote bool
	RunWorker          bool
	PublishTimeout     time.Duration
	StreamMaxBytes     int64
	StreamReplicas     int64
	DuplicateWindow    time.Duration
	PprofAddr          string
	SyncInterval       string
	// ConsoleAddr is where a standalone ingest serves the operator's console; empty = off.
	// ConsoleToken is ADMIN_TOKEN (env only); empty = generated into the data directory.
	ConsoleAddr  string
	ConsoleToken string
	// ConsoleTZ is CONSOLE_TZ, the zone the console shows times in; ConsoleZone is it read.
	ConsoleTZ   string
	ConsoleZone *time.Location
	// Worker configures the standalone in-process worker.
	Worker workerapp.Settings
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Program) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("ingest", m.Env)
	fs.StringEnv(&c.Addr, "addr", "INGEST_ADDR", ":8080", "HTTP address for webhooks, /healthz, /readyz and /metrics")
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "", "NATS server URL(s), comma-separated; empty runs standalone with an embedded server")
	fs.StringEnv(&c.DataDir, "data-dir", "DATA_DIR", "./data", "directory for the generated secret and, standalone, JetStream files and leads.db")
	fs.StringEnvEmptyOK(&c.DB, "db", "DATABASE_URL", "", "standalone worker: the leads database, a SQLite file path or postgres://user:password@host:5432/dbname; empty = DATA_DIR/leads.db")
	fs.Int64Env(&c.MaxBody, "max-body", "MAX_BODY_BYTES", ingest.DefaultMaxBody, "largest request body accepted, in bytes")
	fs.StringEnvEmptyOK(&c.SecretHeader, "secret-header", "WEBHOOK_SECRET_HEADER", ingest.DefaultSecretHeader, "request header carrying the shared secret; empty turns the check off (a signature is then required)")
	fs.StringEnv(&c.SignatureHeader, "signature-header", "WEBHOOK_SIGNATURE_HEADER", "", "request header carrying an HMAC-SHA256 of the body (hex or base64, optional sha256= prefix); empty = not checked")
	fs.StringEnv(&c.AllowedCIDRs, "allowed-cidrs", "WEBHOOK_ALLOWED_CIDRS", "", "comma-separated source address ranges accepted; empty = any")
	fs.StringEnv(&c.TrustedProxies, "trusted-proxies", "TRUSTED_PROXY_CIDRS", "", "comma-separated proxy ranges whose CF-Connecting-IP / X-Forwarded-For name the client")
	fs.Int64Env(&c.QuarantineMax, "quarantine-max-bytes", "QUARANTINE_MAX_BYTES", queue.DefaultQuarantineMaxBytes, "size limit of the quarantine stream")
	fs.StringEnvEmptyOK(&c.EmbeddedNATSAddr, "embedded-nats-addr", "EMBEDDED_NATS_ADDR", "127.0.0.1:4222", "standalone: address where extra workers attach to the embedded NATS; empty = in-process only")
	fs.BoolEnv(&c.EmbeddedNATSRemote, "embedded-nats-allow-remote", "EMBEDDED_NATS_ALLOW_REMOTE", false, "standalone: allow -embedded-nats-addr beyond loopback (the embedded NATS has no authentication; only behind a firewall)")
	fs.BoolEnv(&c.RunWorker, "worker", "INGEST_WORKER", true, "standalone: run the worker in this process")
	fs.DurationEnv(&c.PublishTimeout, "publish-timeout", "PUBLISH_TIMEOUT", queue.DefaultPublishTimeout, "how long a request waits for JetStream to store its event before answering 503")
	fs.Int64Env(&c.StreamMaxBytes, "stream-max-bytes", "STREAM_MAX_BYTES", queue.DefaultMaxBytes, "backlog limit of the events stream; when full, webhooks get 503")
	fs.StringEnvEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6060); empty = off")
	fs.DurationEnv(&c.DuplicateWindow, "duplicate-window", "STREAM_DUPLICATE_WINDOW", queue.DefaultDuplicates, "how long JetStream drops a re-sent event id by itself; its memory grows with rate × window (the store's unique event id dedupes for ever)")
	fs.Int64Env(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of each stream in a JetStream cluster (3 in production clusters; 1 standalone)")
	fs.StringEnv(&c.SyncInterval, "jetstream-sync", "JETSTREAM_SYNC_INTERVAL", "2m", "standalone: how often JetStream fsyncs (a duration, or \"always\")")
	fs.StringEnvEmptyOK(&c.ConsoleAddr, "console-addr", "CONSOLE_ADDR", consoleapp.DefaultAddr, "standalone: address of the operator's console (leads, dead letters, schema); empty = off; beyond loopback it needs ADMIN_TOKEN")
	fs.StringEnv(&c.ConsoleTZ, "console-tz", "CONSOLE_TZ", "UTC", "standalone: time zone the console shows times in (an IANA name such as Asia/Kolkata); UTC on hover and in the API")
	c.Worker.Register(fs, "standalone worker: ")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.ConsoleZone, err = consoleapp.ParseZone(c.ConsoleTZ); err != nil {
		return err
	}
	if v, ok := m.Env("WEBHOOK_SECRETS"); ok {
		c.Secrets = ingest.SplitList(v)
	}
	if v, ok := m.Env("WEBHOOK_SIGNATURE_SECRETS"); ok {
		c.SignatureSecrets = ingest.SplitList(v)
	}
	c.ConsoleToken, _ = m.Env("ADMIN_TOKEN")
	return nil
}
