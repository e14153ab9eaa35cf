package route

import (
	"github.com/saleassist-pipeline/pipeline"
)

// AddInvalid records problem on rec: something wrong with the event as sent that did not stop
// it from being stored (a schema violation outside the person's identity, a time from the
// future). The store keeps rec.Invalid with the event (events.invalid), the worker counts it
// (saleassist_worker_events_invalid_total) and `ingestctl events invalid` lists it. Problems
// are joined by "; " (pipeline.Record.AddInvalid). problem must not quote lead data (names,
// emails, phones, addresses).
func AddInvalid(rec *pipeline.Record, problem string) { rec.AddInvalid(problem) }
