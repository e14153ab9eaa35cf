// Command console serves the operator's console (leads, history, CSV export, dead letters and
// quarantine with replay, Get Schema, mapping preview, throughput) on its own, for deployments
// whose ingest runs against an external NATS. A standalone cmd/ingest serves the same console
// itself on CONSOLE_ADDR.
package main

import (
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
)

func main() { os.Exit(app.Main(consoleapp.New(), os.Args[1:])) }
