// Command worker consumes SaleAssist events from the shared JetStream consumer, dedupes them,
// routes each event type to its handler and stores leads. Run as many as you like.
package main

import (
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
)

func main() { os.Exit(app.Main(workerapp.New(), os.Args[1:])) }
