// Package handlers holds one handler per SaleAssist event type, plus the fallback for types we do
// not know yet (Unknown). Each turns an event into the pipeline.Record the worker writes: it
// starts from pipeline.NewRecord, takes the lead from the account's mapping (pkg/mapping) and
// adds what its type carries (widget_new_conversation: the meeting in payload.meta[0]).
//
// # Adding an event type
//
// An event type the pipeline does not know is already kept (Unknown stores it, with a lead when
// it carries payload.people_detail), so add one only to read more of it. For a type
// "chat_message", as widget_new_conversation is wired:
//
//  1. The schema: proto-free-schemas/schemas/chat_message.schema.json, with
//     "$id": "https://saleassist-pipeline.dev/schemas/chat_message.schema.json",
//     "allOf": [{"$ref": "envelope.schema.json"}] and
//     "properties": {"event_type": {"const": "chat_message"}, ...}. pkg/schema picks it up by
//     its file name, and route.Validate checks every event of the type against it (see
//     proto-free-schemas/README.md for the rules the schemas follow).
//  2. The name: a constant in the module root's event.go, beside WidgetNewConversation:
//     const ChatMessage = "chat_message".
//  3. The handler: chat_message.go in this package, a func(m *mapping.Mapper)
//     pipeline.HandlerFunc that starts from withLead (the record and the mapped lead) and adds
//     what the type carries; its tests in handlers_test.go, with a sample body in
//     testdata/fixtures.
//  4. The router: one line in Register (handlers.go):
//     r.Handle(pipeline.ChatMessage, ChatMessage(m)).
//  5. The mapping: the type under event_types in pkg/mapping/default.yaml, as
//     "chat_message: {}" to use the common mapping as it is, or with its own person, lead or
//     seen_at (pkg/mapping/MAPPING.md).
//  6. The README: a line for the type under "What happens to each event".
//
// TestEventTypesAgree (eventtypes_test.go) fails, naming the type and the place it is missing
// from, while steps 1, 4 and 5 disagree; the compiler holds 2 and 3 to 4. The rest follows by
// itself: the worker creates the type's metric series from the router's types (Router.Types),
// Validate finds its schema, and the console's schema explorer shows its fields as they arrive.
package handlers
