package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Checkpoints: in WAL mode every commit appends to the -wal file, and a checkpoint copies the
// pages back into the database file (and fsyncs both). By default SQLite runs one inside the
// COMMIT that takes the WAL past 1,000 pages, on the writer's own time: in the worker bench that
// was a quarter of the store's wall time, and the store is the worker's serial stage. So the
// write connection checkpoints only past walAutocheckpoint pages (a backstop), and a goroutine
// with a connection of its own runs PASSIVE checkpoints after commits, at most every
// checkpointInterval; in WAL mode a checkpoint runs alongside the writer instead of in front of
// it. Durability is unchanged: a checkpoint syncs the WAL before it copies from it, whichever
// connection runs it, and commits sync (FULL) or not (NORMAL) as they did.
const (
	walAutocheckpoint  = 10_000 // pages (~40 MiB): only if the checkpointer falls behind
	checkpointInterval = 200 * time.Millisecond
)

// checkpointer runs PASSIVE checkpoints on its own connection when told there were commits.
type checkpointer struct {
	db     *sql.DB
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func startCheckpointer(db *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// committed tells the checkpointer there is something to copy. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		// A failed or busy checkpoint (another process is running one) is fine: the next kick,
		// or the writer's backstop, catches up.
		_, _ = c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		t.Reset(checkpointInterval)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop ends the checkpointer; closing the last connection checkpoints what is left.
func (c *checkpointer) stop() {
	c.cancel()
	<-c.done
}
