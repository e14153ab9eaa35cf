// Command worker consumes SaleAssist events from the shared JetStream consumer, dedupes them,
// routes each event type to its handler and stores leads. Run as many as you like.
package main

import (
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/app"
)

func main() { os.Exit(app.Main(app.NewWorker(), os.Args[1:])) }
