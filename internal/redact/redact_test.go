package redact

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// NATS URLs are covered by queue's TestRedactURL; these are the PostgreSQL forms.
func TestURLPostgres(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable":  "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"POSTGRESQL://app@db/leads":                                    "POSTGRESQL://app@db/leads",
		"nats://token-value@127.0.0.1:4222":                            "nats://xxxxx@127.0.0.1:4222",
		"postgresql://app:s3cret@db:5432/leads":                        "postgresql://app:xxxxx@db:5432/leads",
		"postgres://app:s3cret@h1:5432,h2:5432/leads":                  "postgres://app:xxxxx@h1:5432,h2:5432/leads",
		"postgres://db/leads?user=app&password=s3cret&sslmode=require": "postgres://db/leads?user=app&password=xxxxx&sslmode=require",
		"postgres://db/leads?PASSWORD=s3cret":                          "postgres://db/leads?PASSWORD=xxxxx",
		"host=db user=app password=s3cret dbname=leads":                "host=db user=app password=xxxxx dbname=leads",
		"host=db password = 's3 cr\\'et' dbname=leads":                 "host=db password = xxxxx dbname=leads",
		"./data/leads.db": "./data/leads.db",
	} {
		require.Equal(t, want, URL(in), "URL(%q)", in)
	}
}
