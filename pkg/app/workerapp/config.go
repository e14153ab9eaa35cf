package workerapp

import (
	"fmt"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// Config is cmd/worker's configuration; see the README's contract for each setting.
type Config struct {
	NatsURL string
	DB      string
	Addr    string
	// StreamReplicas is used for the streams the worker creates when they do not exist yet (the
	// dead-letter stream; the events stream if no ingest ran first).
	StreamReplicas int64
	PprofAddr      string
	Settings
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Program) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("worker", m.Env)
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.StringEnv(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL; pool size: ?pool_max_conns=N, default 4)")
	fs.StringEnv(&c.Addr, "addr", "WORKER_ADDR", ":9091", "HTTP address for /metrics, /healthz and /readyz")
	fs.StringEnvEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6061); empty = off")
	fs.Int64Env(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of the streams this worker creates, in a JetStream cluster")
	c.Settings.Register(fs, "")
	return fs.Parse(args)
}

// Settings are the worker's settings, the same flags and env in cmd/worker and in a
// standalone ingest (Register).
type Settings struct {
	DefaultRegion string
	BatchSize     int64
	// BatchLinger is how long a batch that is not full waits for more events (worker.Options).
	BatchLinger time.Duration
	AckWait     time.Duration
	MaxDeliver  int64
	MappingFile string
	// SQLiteSynchronous is the store's synchronous setting, NORMAL or FULL (see
	// sqlite.Synchronous).
	SQLiteSynchronous string
	// MaxClockSkew is how far after an event's arrival a SaleAssist time (payload.updated_on)
	// is still believed for ordering (mapping.WithMaxClockSkew).
	MaxClockSkew time.Duration
	// SkipFields turns the kept schema's upkeep off (worker.Options.SkipFields). No flag or env
	// sets it: the worker bench sets it to measure what the upkeep costs.
	SkipFields bool
}

// Register adds the settings' flags to fs, each with its env fallback; prefix starts each
// usage line (the standalone ingest says whose they are).
func (c *Settings) Register(fs *envflag.FlagSet, prefix string) {
	fs.StringEnv(&c.DefaultRegion, "default-region", "DEFAULT_PHONE_REGION", "IN", prefix+"region for phone numbers written without a country code")
	fs.Int64Env(&c.BatchSize, "batch-size", "WORKER_BATCH_SIZE", worker.DefaultBatchSize, prefix+"most events stored per transaction")
	fs.DurationEnv(&c.BatchLinger, "batch-linger", "WORKER_BATCH_LINGER", worker.DefaultBatchLinger, prefix+"how long a batch that is not full waits for more events before it is committed: fewer, larger commits cost less CPU per event; events reach the store up to this much later (the sender's 202 does not wait for the worker); 0 = commit whatever is ready")
	fs.StringEnv(&c.MappingFile, "mapping-file", "MAPPING_FILE", "", prefix+"YAML or JSON file mapping event fields to lead fields (pkg/mapping/MAPPING.md); empty = the built-in mapping")
	fs.Int64Env(&c.MaxDeliver, "max-deliver", "WORKER_MAX_DELIVER", queue.DefaultMaxDeliver, prefix+"deliveries before a failing event is moved to the dead-letter stream")
	fs.StringEnv(&c.SQLiteSynchronous, "sqlite-synchronous", "SQLITE_SYNCHRONOUS", string(sqlite.DefaultSynchronous), prefix+"SQLite synchronous setting: FULL fsyncs every batch commit, so an acknowledged event survives a power loss; NORMAL syncs only at checkpoints")
	fs.DurationEnv(&c.MaxClockSkew, "max-clock-skew", "MAX_CLOCK_SKEW", mapping.DefaultMaxClockSkew, prefix+"how far after an event's arrival a SaleAssist time (payload.updated_on) is still believed for ordering a lead's updates; a later one is replaced by the arrival time and noted on the event")
	fs.DurationEnv(&c.AckWait, "ack-wait", "WORKER_ACK_WAIT", queue.DefaultAckWait, prefix+"how long a worker may hold an event before JetStream redelivers it (also how soon events held by a crashed worker are retried)")
}

// mapper builds the lead mapper: the built-in mapping, or MAPPING_FILE's. A bad file is an error
// naming the file, line and field, so the worker refuses to start.
func (c *Settings) mapper() (*mapping.Mapper, error) {
	var mp *mapping.Mapping
	if c.MappingFile != "" {
		var err error
		if mp, err = mapping.LoadMapping(c.MappingFile); err != nil {
			return nil, err
		}
	}
	if c.MaxClockSkew < 0 {
		return nil, fmt.Errorf("MAX_CLOCK_SKEW=%s: want 0 or more (the default is %s)", c.MaxClockSkew, mapping.DefaultMaxClockSkew)
	}
	return mapping.NewMapper(c.DefaultRegion, mapping.WithMapping(mp), mapping.WithMaxClockSkew(c.MaxClockSkew))
}
