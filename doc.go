// Package pipeline is the domain of the SaleAssist webhook pipeline: the pipeline's own types,
// which every other package speaks, in one place (as WTF Dial's root package wtf):
//
//   - Event (event.go): one webhook as it travels from the ingest through the queue to the
//     handlers; the SaleAssist envelope, how an event is identified and the limits on both
//     (envelope.go, ParseHead, with its one-pass scan in scan.go and members.go); the event
//     types the pipeline knows by name (WidgetNewConversation).
//   - Lead and Meeting (lead.go): one person as built from one event, and the meeting a
//     conversation booked: what the store persists and matches on. Turning an event into them
//     (the field mapping, email and E.164 normalization, payload.meta) needs a YAML parser, a
//     phone-number database and x/text, and lives in pkg/mapping, which imports this.
//   - Record, Result and Outcome (record.go): everything one event changes in the store, and
//     what the store did with it; AddInvalid records what was wrong with the event as sent.
//     pkg/store holds the Store contract that writes them, and its drivers. NewRecord is where
//     every handler starts building one.
//   - HandlerFunc and Middleware (handler.go): what turns an event into its Record, and what
//     wraps every handler; Permanent and InvalidError mark the errors a retry cannot fix.
//     pkg/route routes by event type and holds the middleware, pkg/handlers one handler per
//     type (its doc.go says how to add an event type).
//
// It imports the standard library and internal/jsonscan (the one JSON scanner, itself standard
// library only), nothing else of ours and no third-party module, so every package may depend on
// it and none drags a driver, a YAML parser or a phone database in through it: a store should
// not compile those to hold a name and an email.
// TestImportsOnlyStandardLibraryAndJSONScan keeps it so.
//
// The implementations live below it, one package per dependency or concern: pkg/ingest (HTTP),
// pkg/queue (JetStream), pkg/route and pkg/handlers (event type → Record), pkg/mapping (event →
// Lead), pkg/store and its drivers, pkg/worker, pkg/console, pkg/admin.
package pipeline
