// Package layering holds no code: its test pins which packages each part of the pipeline may
// link, so that a program carries only what it uses: the worker and ingestctl no embedded NATS
// server, the console and the worker not the ingest's request path nor each other, pkg/app
// (what the programs share) none of the programs, and the ingest a database driver only through
// the worker and the console it runs in-process. A failure names the chain of imports that
// brings the forbidden package. See layering_test.go for the tables.
package layering
