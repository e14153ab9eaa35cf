package consoleapp

import (
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

// Config is cmd/console's configuration; see the README's contract for each setting.
type Config struct {
	Addr    string
	NatsURL string
	DB      string
	DataDir string
	// Token is ADMIN_TOKEN (env only, never a flag: flags show in ps).
	Token         string
	DefaultRegion string
	MaxBody       int64
	// TZ is CONSOLE_TZ, the zone the pages show times in; Zone is it read at ParseFlags.
	TZ   string
	Zone *time.Location
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Program) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("console", m.Env)
	fs.StringEnv(&c.Addr, "addr", "CONSOLE_ADDR", DefaultAddr, "HTTP address of the console; beyond loopback it needs ADMIN_TOKEN (at least 24 characters)")
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated: dead letters, quarantine, consumer lag")
	fs.StringEnv(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL)")
	fs.StringEnv(&c.DataDir, "data-dir", "DATA_DIR", "./data", "where a generated admin token is kept (admin-token)")
	fs.StringEnv(&c.DefaultRegion, "default-region", "DEFAULT_PHONE_REGION", "IN", "region for searched phone numbers written without a country code")
	fs.Int64Env(&c.MaxBody, "max-body", "MAX_BODY_BYTES", accept.DefaultMaxBody, "largest body a quarantine replay submits, as the ingest's")
	fs.StringEnv(&c.TZ, "tz", "CONSOLE_TZ", "UTC", "time zone the pages show times in (an IANA name such as Asia/Kolkata); UTC on hover and in the API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.Zone, err = ParseZone(c.TZ); err != nil {
		return err
	}
	c.Token, _ = m.Env("ADMIN_TOKEN")
	return nil
}

// ParseZone reads CONSOLE_TZ, the zone the pages show times in (console.ParseZone), for both
// programs that serve the console: this one and a standalone ingest.
func ParseZone(tz string) (*time.Location, error) { return console.ParseZone(tz) }
