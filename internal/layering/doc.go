// Package layering holds no code: its test pins which packages each part of the pipeline may
// link, so that a program carries only what it uses (the worker and ingestctl no embedded NATS
// server, the console and the worker not the ingest's request path, the ingest no database
// driver). See layering_test.go for the table.
package layering
