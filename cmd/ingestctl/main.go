// Command ingestctl is the operators' tool for a running pipeline: status, dead letters and
// quarantine (list, show, replay, discard, delete), accounts, events stored with problems,
// pruning, and the copy of a SQLite store into PostgreSQL. Run `ingestctl` for usage. Its
// command line is package ctl, one file per command; the operations are pkg/admin's.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/saleassist-pipeline/pipeline/cmd/ingestctl/ctl"
)

func main() {
	// Interrupted, a long command (migrate-store) stops between its steps and says how to resume.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.New().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
