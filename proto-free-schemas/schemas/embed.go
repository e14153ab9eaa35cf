// Package schemas holds the pipeline's JSON Schemas (draft 2020-12), one file per document shape:
// the webhook envelope every event shares, one schema per event type that has a documented shape
// (named <event_type>.schema.json), and the stored lead. They are the contract in a form other
// tools can read, which is why they are plain JSON Schema rather than protobuf. Each file's $id
// is https://saleassist-pipeline.dev/schemas/<file name>, so relative $refs between them resolve
// without any network access. Package pkg/schema compiles them; this package only ships them.
package schemas

import "embed"

// FS holds every *.schema.json file in this directory, embedded at build time so binaries carry
// the schemas they validate against.
//
//go:embed *.schema.json
var FS embed.FS
