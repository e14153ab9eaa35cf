package sqlite

import (
	"fmt"
	"strings"
)

// Synchronous is SQLite's synchronous setting (PRAGMA synchronous) for the store's connections,
// in WAL mode:
//
//   - NORMAL: a commit appends to the WAL without an fsync; the WAL is synced at checkpoints.
//     The database is never corrupted, and a crash of the process loses nothing, but a power loss
//     or OS crash may roll back the transactions committed since the last sync. The worker acks
//     an event after its commit and the work-queue stream then deletes it, so such a rollback
//     loses events that exist nowhere else.
//   - FULL: every commit fsyncs the WAL before it returns (one fsync per batch), so an
//     acknowledged event survives a power loss of the worker's host too.
//
// FULL closes the worker's window only: JetStream's file store fsyncs on its own schedule
// (SyncInterval), so a power loss on the host of the stream can still lose events it accepted.
type Synchronous string

// The settings Synchronous may take.
const (
	SynchronousNormal Synchronous = "NORMAL"
	SynchronousFull   Synchronous = "FULL"
)

// DefaultSynchronous is the setting Open uses: FULL, because an acknowledged event must survive
// a power loss, and in the worker bench FULL drained within ~10% of NORMAL (the fsync is one per
// batch, and the worker routes the next batch meanwhile).
const DefaultSynchronous = SynchronousFull

// ParseSynchronous reads a setting as an operator writes it (either case).
func ParseSynchronous(s string) (Synchronous, error) {
	switch v := Synchronous(strings.ToUpper(strings.TrimSpace(s))); v {
	case SynchronousNormal, SynchronousFull:
		return v, nil
	}
	return "", fmt.Errorf("synchronous %q: want NORMAL or FULL", s)
}
