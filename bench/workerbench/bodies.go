package workerbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FixturePath is the sample webhook every benchmark event is made from, relative to the module root.
const FixturePath = "testdata/fixtures/widget_new_conversation.json"

// Payload sizes of the scaling run.
const (
	SizeSmall   = "1KB"   // the fixture without its meeting details (meta) and minor fields
	SizeFixture = "4.7KB" // the fixture as it is (compact JSON)
	SizeLarge   = "64KB"  // the fixture with a ~60 KB people_detail attribute
)

// Placeholders substituted per event; they are valid JSON string contents.
const (
	idMark    = "@@BENCH_EVENT_ID@@"
	emailMark = "@@BENCH_EMAIL@@"
	phoneMark = "@@BENCH_PHONE@@"
	// meetingMark is payload.meta[0].id, the meeting's id (templates without meta have none).
	meetingMark = "@@BENCH_MEETING@@"
	// altMark is payload.unique_field_value: the meeting's visitor, a phone number the mapping
	// keeps as the lead's AltPhone (the fixture's is not the person's mobile number).
	altMark = "@@BENCH_ALT_PHONE@@"
)

// SharedPhone is the fixture's people_detail.mobile_number, which DrainSpec.SharedPhone gives
// every event.
const SharedPhone = "+910987654321"

// Template produces event bodies of one shape with a unique payload.id, people_detail.email and
// people_detail.mobile_number, so every event is new and makes its own lead.
//
// Every body names the fixture's meeting unless Body is given a meeting id: one meeting row that
// every event updates.
type Template struct {
	parts   [][]byte // body split at the placeholders: part, mark, part, mark, ..., part
	marks   []string
	size    int
	meeting string // the fixture's meeting id
	alt     string // the fixture's payload.unique_field_value
}

// FindModuleRoot walks up from the working directory to the directory holding go.mod and the
// fixture, so the harness works from the module root (go run) and from its package dir (go test).
func FindModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, FixturePath)); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root with " + FixturePath + " not found above the working directory")
		}
		dir = parent
	}
}

// NewTemplate builds a template of the given size class (SizeSmall, SizeFixture, SizeLarge) from
// the fixture at fixture.
func NewTemplate(fixture []byte, size string) (*Template, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(fixture))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode fixture: %w", err)
	}
	payload, ok := doc["payload"].(map[string]any)
	if !ok {
		return nil, errors.New("fixture has no payload object")
	}
	people, ok := payload["people_detail"].(map[string]any)
	if !ok {
		return nil, errors.New("fixture has no payload.people_detail object")
	}
	payload["id"] = idMark
	people["email"] = emailMark
	people["mobile_number"] = phoneMark
	alt, _ := payload["unique_field_value"].(string)
	if alt != "" {
		payload["unique_field_value"] = altMark
	}
	var meeting string
	if meta, ok := payload["meta"].([]any); ok && len(meta) > 0 {
		if m0, ok := meta[0].(map[string]any); ok {
			meeting, _ = m0["id"].(string)
			if meeting != "" {
				m0["id"] = meetingMark
			}
		}
	}
	switch size {
	case SizeFixture:
	case SizeSmall:
		delete(payload, "meta")
		for _, k := range []string{"raw", "whatsapp_status", "meeting_url", "source_referrer", "message_content",
			"message_from", "message_to", "people_id", "meeting_id", "form_id", "chat_group_id", "whatsapp_request_id"} {
			delete(payload, k)
		}
		for _, k := range []string{"widget_ip_address", "widget_location_source", "extra1", "extra2", "form_fill",
			"date_of_month", "time_of_day", "day_of_week", "month_of_year", "device", "otp_verified"} {
			delete(people, k)
		}
	case SizeLarge:
		people["notes"] = strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 64*1024/57-80)
	default:
		return nil, fmt.Errorf("unknown payload size %q", size)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	t := &Template{meeting: meeting, alt: alt}
	rest := body
	for {
		at, mark := -1, ""
		for _, m := range []string{idMark, emailMark, phoneMark, meetingMark, altMark} {
			if i := bytes.Index(rest, []byte(m)); i >= 0 && (at < 0 || i < at) {
				at, mark = i, m
			}
		}
		if at < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		t.parts = append(t.parts, rest[:at])
		t.marks = append(t.marks, mark)
		rest = rest[at+len(mark):]
	}
	if len(t.marks) < 3 {
		return nil, fmt.Errorf("template has %d placeholders, want 3 to 5", len(t.marks))
	}
	t.size = len(t.Body("bench-0-0", "lead0@example.com", SharedPhone, "", ""))
	return t, nil
}

// Size is the length of one body in bytes (ids vary by a few bytes).
func (t *Template) Size() int { return t.size }

// Body returns the envelope with the given event id, email, mobile number, meeting id and
// meeting visitor (payload.unique_field_value); "" for the last two keeps the fixture's.
func (t *Template) Body(id, email, phone, meeting, alt string) []byte {
	if meeting == "" {
		meeting = t.meeting
	}
	if alt == "" {
		alt = t.alt
	}
	b := make([]byte, 0, t.size+16)
	for i, p := range t.parts {
		b = append(b, p...)
		if i < len(t.marks) {
			switch t.marks[i] {
			case idMark:
				b = append(b, id...)
			case emailMark:
				b = append(b, email...)
			case meetingMark:
				b = append(b, meeting...)
			case altMark:
				b = append(b, alt...)
			default:
				b = append(b, phone...)
			}
		}
	}
	return b
}

// eventID and email of event i of a run: unique within and across runs.
func eventID(run string, i int) string { return "bench-" + run + "-" + strconv.Itoa(i) }
func email(run string, i int) string   { return "lead-" + run + "-" + strconv.Itoa(i) + "@example.com" }
func meetingID(run string, i int) string {
	return "bench-meeting-" + run + "-" + strconv.Itoa(i)
}

// phone of event i: a distinct, valid Indian mobile number (+91 98…), up to 10^8 events.
func phone(i int) string { return fmt.Sprintf("+9198%08d", i%100_000_000) }

// altPhone of person i: the visitor number of their own meeting (+91 97…), distinct from every
// phone(j).
func altPhone(i int) string { return fmt.Sprintf("+9197%08d", i%100_000_000) }
