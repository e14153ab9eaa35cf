package store

import (
	"context"
	"errors"
)

// An error from Apply is one of three kinds, and the worker treats each its own way; each store
// marks its errors from its driver's codes (never their text), so the worker needs no driver:
//
//   - a data error (DataError): the record itself cannot be stored, and no retry will change
//     that (PostgreSQL's SQLSTATE class 22 data exception, a CHECK or NOT NULL violation, a
//     value the driver cannot encode; SQLite's constraint, too-big and mismatch codes). The
//     worker dead-letters the event at once, with the reason, and stores its batch-mates;
//   - the store unavailable (Unavailable): it cannot be reached or cannot write just now, for
//     every record alike (connection refused or reset, shutdown, recovery, read-only, too many
//     connections, disk full, SQLite busy beyond its timeout, a deadline). The worker pauses
//     and probes instead of spending the events' deliveries;
//   - anything else: retried with a growing delay, dead-lettered after MaxDeliver deliveries.

// Reasons a store is unavailable: the values of Unavailable's reason (and of the worker's
// saleassist_worker_paused{reason} label). A fixed, short list.
const (
	// ReasonUnreachable: the connection was refused, reset or broke.
	ReasonUnreachable = "unreachable"
	// ReasonShutdown: the server is shutting down or was terminated by an administrator.
	ReasonShutdown = "shutdown"
	// ReasonStarting: the server is starting up or in crash recovery.
	ReasonStarting = "starting"
	// ReasonReadOnly: the database accepts no writes (a standby, a read-only transaction or file).
	ReasonReadOnly = "read_only"
	// ReasonTooManyConnections: the server refused a connection for lack of slots.
	ReasonTooManyConnections = "too_many_connections"
	// ReasonDiskFull: the disk is full.
	ReasonDiskFull = "disk_full"
	// ReasonServerError: the server lacks another resource (memory) or had an I/O error.
	ReasonServerError = "server_error"
	// ReasonBusy: SQLite's database was locked by another writer beyond its busy timeout.
	ReasonBusy = "busy"
	// ReasonTimeout: the store did not answer within the deadline.
	ReasonTimeout = "timeout"
)

// UnavailableReasons lists every reason Unavailable is given, for metrics that pre-create their
// label values.
var UnavailableReasons = []string{ReasonUnreachable, ReasonShutdown, ReasonStarting, ReasonReadOnly,
	ReasonTooManyConnections, ReasonDiskFull, ReasonServerError, ReasonBusy, ReasonTimeout}

type dataError struct{ err error }

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

// DataError marks err as one about the record's data that no retry can fix. nil stays nil.
func DataError(err error) error {
	if err == nil || IsDataError(err) {
		return err
	}
	return &dataError{err}
}

// IsDataError reports whether err, or an error it wraps, was marked by DataError.
func IsDataError(err error) bool {
	var de *dataError
	return errors.As(err, &de)
}

type unavailableError struct {
	reason string
	err    error
}

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Unavailable marks err as saying the store cannot be reached or cannot write now, for reason
// (one of UnavailableReasons). nil stays nil.
func Unavailable(reason string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := UnavailableReason(err); ok {
		return err
	}
	return &unavailableError{reason: reason, err: err}
}

// UnavailableReason returns the reason err, or an error it wraps, was marked Unavailable with,
// and whether it was.
func UnavailableReason(err error) (string, bool) {
	var ue *unavailableError
	if errors.As(err, &ue) {
		return ue.reason, true
	}
	return "", false
}

// Pinger is a store that can say whether it could write now, without writing: the worker's
// probe while it is paused on an unavailable store. Ping returns nil when a batch could be
// written now, else an error marked Unavailable where the store can tell why.
type Pinger interface {
	Ping(ctx context.Context) error
}
