// Command ingestctl is the operators' tool for a running pipeline: status, dead letters and
// quarantine (list, show, replay, discard, delete), events stored with problems, and the copy of
// a SQLite store into PostgreSQL. Run `ingestctl` for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

func main() {
	// Interrupted, a long command (migrate-store) stops between its steps and says how to resume.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := admin.New().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
