// Package admin is the operators' operations on a running pipeline: status, the accounts (in
// their JetStream key-value bucket, package account), looking at, replaying, discarding and
// deleting dead letters and what the ingest quarantined (on its JetStream; both are parked
// messages, parked.go), the events stored with problems and pruning (on its leads database).
// Each returns data and prints nothing: ingestctl (cmd/ingestctl) prints it, the console
// (pkg/console) renders it. It never talks to the ingest.
package admin
