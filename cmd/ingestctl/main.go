// Command ingestctl is the operators' tool for a running pipeline: list, show, replay and delete
// the requests the ingest quarantined. Run `ingestctl` for usage.
package main

import (
	"context"
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

func main() { os.Exit(admin.New().Run(context.Background(), os.Args[1:])) }
