// Package drills runs the pipeline's fault drills (make drills; docs/RELIABILITY.md): real
// nats-server, cmd/ingest and cmd/worker processes on loopback, a bounded concurrent load of
// webhooks, a fault (a NATS restart, a worker SIGKILL, a stream leader's loss, a locked
// database, an ingest SIGTERM, a duplicate storm, a full stream; on the scaled-out stack of a
// NATS cluster, two ingests and three workers sharing PostgreSQL, a worker and a NATS node lost,
// and PostgreSQL itself SIGKILLed), and then a check of the store — the SQLite file or the
// PostgreSQL database — against every event id that was answered 202.
//
// The scaled-out drills (8, 9, 11) and the partition drills (12: a worker host cut off
// mid-batch, 13: the stream leader's host cut off, 14: an ingest cut off from NATS) run each
// process on a host of its own in the hosts lab (internal/lab: a network namespace on a bridge,
// 10.211.9.0/24, prefix "sadrl"; NewLab, Procs.StartOn, PlanNATSOn, StartPostgresOn); the drill
// and its load sit on the bridge. A partition is a host's link taken down. Without the lab (not
// root, no cgroup v1), drills 8, 9 and 11 run on loopback and 12–14 skip, each saying why; under
// CI=true they fail.
//
// The drills themselves are tests behind the "drills" build tag (go test -tags drills ./drills/),
// so go test ./... stays fast; this package is their harness: processes (Procs, StartNATS,
// StartPostgres), events (Generator), load (StartLoad) and the check (Check, Report). Each drill
// prints one line,
//
//	drill=<name> sent=N accepted=N stored=N lost=0 duplicated=0
//
// and fails on any loss, duplicate or other broken promise.
package drills
