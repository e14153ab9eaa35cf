package store

import (
	"errors"
	"time"
)

// EventRow is an event as a copy of a whole store moves it (ingestctl migrate-store, package
// storecopy): the stored event with its row id, which orders a lead's history and is kept so the
// copy orders it alike, and when it was stored.
type EventRow struct {
	ID       int64
	StoredAt time.Time
	StoredEvent
}

// ErrDifferentData is wrapped by the error of a copy into a store that already holds other data
// under the ids being copied: it is not an earlier, interrupted copy of the same source, and
// copying on would mix two stores' leads.
var ErrDifferentData = errors.New("the target already holds different data under the same ids")
