// genrelease writes a small SQLite store with the release's code (before accounts), for the
// upgrade test of the accounts migration (upgrade_test.go). It was run once in a checkout of
// commit 0c7bda0, the last before accounts: go run ./cmd/genrelease testdata/release-0c7bda0.db
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

func main() {
	ctx := context.Background()
	path := os.Args[1]
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := func(id string, l *pipeline.Lead) pipeline.Record {
		return pipeline.Record{EventID: id, EventType: "widget_new_conversation", ReceivedAt: t0,
			Payload: []byte(`{"event_type":"widget_new_conversation","payload":{"id":"` + id + `"},"metadata":{}}`), Lead: l}
	}
	a := rec("ev-1", &pipeline.Lead{Name: "Asha", Email: "asha@example.com", MobileNumber: "+919876543210", SeenAt: t0})
	a.Meeting = &pipeline.Meeting{ID: "m-1", Status: "scheduled", ScheduledAt: t0.Add(time.Hour)}
	b := rec("ev-2", &pipeline.Lead{Name: "Ravi", MobileNumber: "+911111111111", SeenAt: t0})
	c := rec("ev-3", &pipeline.Lead{Name: "Asha K", Email: "asha@example.com", SeenAt: t0.Add(time.Minute)})
	d := rec("ev-4", nil)
	d.EventType = "video_tile_click"
	d.Invalid = "payload.id: missing"
	res, err := db.Apply(ctx, []pipeline.Record{a, b, c, d})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%+v", res)
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
}
