// Command ingest receives SaleAssist webhooks and stores them in NATS JetStream before answering
// 202. Without NATS_URL it runs the whole pipeline standalone: embedded JetStream and an
// in-process worker writing leads to SQLite. See the README for every setting.
package main

import (
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
)

func main() { os.Exit(app.Main(ingestapp.New(), os.Args[1:])) }
