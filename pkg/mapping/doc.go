// Package mapping turns what SaleAssist sends about a person into a pipeline.Lead: it maps event
// fields to lead fields by a declarative Mapping (by default those of payload.people_detail, in
// default.yaml; operators load their own with LoadMapping, see MAPPING.md), normalizes email
// addresses (NormalizeEmail: Unicode NFC, lower case) and phone numbers (E.164) so that one
// person is one lead, tells placeholder values ("n/a", "0000000000") from identities, and
// extracts the meeting a conversation booked (MeetingFromPayload).
//
// It is apart from the domain (package pipeline, the module root, which holds Lead), because it needs a YAML parser
// (go.yaml.in/yaml/v3), libphonenumber (github.com/nyaruka/phonenumbers) and Unicode
// normalization (golang.org/x/text), and the store, which only persists and matches leads, must
// not. Only the worker's handlers, the console (its mapping preview and its search by the
// pipeline's own keys) and the programs' wiring import it. Normalization stays here rather than
// in the domain for the same reason: NFC needs golang.org/x/text. The store never normalizes:
// the keys of every Lead it is given were normalized by a Mapper, and it compares them as they
// are.
package mapping
