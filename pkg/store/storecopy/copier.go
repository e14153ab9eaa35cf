package storecopy

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// copier walks the snapshot's tables in id order, one chunk per target transaction.
type copier struct {
	ctx  context.Context
	snap *sqlite.Snapshot
	dst  *postgres.DB
	o    Options
	r    *Report
}

// run copies the tables in the order of their foreign keys (events name leads, meetings name
// both), then the kept schema.
func (c *copier) run() error {
	if err := copyTable(c, "leads", c.r.Source.Leads, &c.r.Copied.Leads, c.snap.Leads, c.dst.ImportLeads,
		func(l store.StoredLead) int64 { return l.ID }); err != nil {
		return err
	}
	if err := copyTable(c, "events", c.r.Source.Events, &c.r.Copied.Events, c.snap.Events, c.dst.ImportEvents,
		func(e store.EventRow) int64 { return e.ID }); err != nil {
		return err
	}
	if err := copyTable(c, "meetings", c.r.Source.Meetings, &c.r.Copied.Meetings, c.snap.Meetings, c.dst.ImportMeetings,
		func(m store.StoredMeeting) sqlite.MeetingKey { return sqlite.MeetingKey{Account: m.Account, ID: m.ID} }); err != nil {
		return err
	}
	return copyTable(c, "event_fields", c.r.Fields.Source, &c.r.Fields.Copied, c.snap.Fields, c.dst.ImportFields,
		func(f store.Field) sqlite.FieldKey {
			return sqlite.FieldKey{Account: f.Account, EventType: f.EventType, Path: f.Path}
		})
}

// copyTable copies one table: read the chunk after the last key, write it, repeat until read
// returns nothing. A cancelled context stops it between (or inside) chunks.
func copyTable[R any, K comparable](c *copier, table string, total int64, copied *int64,
	read func(context.Context, K, int) ([]R, error), write func(context.Context, []R) (int64, error), key func(R) K) error {
	var (
		after K
		done  int64
	)
	for {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		rows, err := read(c.ctx, after, c.o.ChunkSize)
		if err != nil || len(rows) == 0 {
			return err
		}
		n, err := write(c.ctx, rows)
		if err != nil {
			return err
		}
		after = key(rows[len(rows)-1])
		*copied += n
		done += int64(len(rows))
		c.r.Chunks++
		if c.o.Progress != nil {
			c.o.Progress(Progress{Table: table, Done: done, Total: total})
		}
	}
}
