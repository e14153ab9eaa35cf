package pipeline

import (
	"encoding/json"
	"time"
)

// Lead is one person as the pipeline knows them, built from one event. The store merges the
// Leads of successive events for the same person, and its drivers match on the keys here
// (Email, then PhoneKey), which arrive already normalized by package mapping (pkg/mapping, which
// builds a Lead from an event); the store compares them as they are.
type Lead struct {
	// SourceID is SaleAssist's id for the person (people_detail.id), when sent.
	SourceID string `json:"source_id,omitempty"`
	Name     string `json:"name,omitempty"`
	// Email is trimmed, lower-cased and in Unicode NFC (mapping.NormalizeEmail).
	Email string `json:"email,omitempty"`
	// MobileNumber is people_detail.mobile_number in E.164 (+919876543210), or the value as sent
	// when it cannot be parsed as a phone number. It is the lead's phone.
	MobileNumber string `json:"mobile_number,omitempty"`
	// AltPhone is payload.unique_field_value when that is a phone number other than
	// MobileNumber (SaleAssist's meeting participant), normalized the same way.
	AltPhone string `json:"alt_phone,omitempty"`
	Address  string `json:"address,omitempty"`
	Pincode  string `json:"pincode,omitempty"`
	// City, State and Country come from people_detail.widget_city, widget_state, widget_country
	// (with the default mapping, as do the other fields' sources named here).
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Country string `json:"country,omitempty"`

	UTMSource       string `json:"utm_source,omitempty"`
	UTMMedium       string `json:"utm_medium,omitempty"`
	UTMCampaign     string `json:"utm_campaign,omitempty"`
	UTMTerm         string `json:"utm_term,omitempty"`
	UTMContent      string `json:"utm_content,omitempty"`
	ProductCategory string `json:"product_category,omitempty"`
	ProductSKU      string `json:"product_sku,omitempty"`

	// Attributes holds every field of the mapping's person object (people_detail by default)
	// that no lead field took, as sent (JSON values), so nothing is silently dropped, plus the
	// mapping's attributes.<key> targets.
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`

	// SeenAt is when SaleAssist last changed this information (payload.updated_on, else
	// payload.created_on, else the time the event arrived). The store lets newer values win.
	SeenAt time.Time `json:"seen_at"`
	// IgnoredSeenAt, when not zero, is the SaleAssist time the event carried and the mapper did
	// not believe, being later than its arrival plus the allowed clock skew
	// (Mapper.MaxClockSkew); SeenAt is then the arrival time. It is not stored with the lead:
	// the handler records it on the event (events.invalid).
	IgnoredSeenAt time.Time `json:"-"`
}

// PhoneKey returns the phone number used to match this lead when it has no email: MobileNumber,
// else AltPhone.
func (l *Lead) PhoneKey() string {
	if l.MobileNumber != "" {
		return l.MobileNumber
	}
	return l.AltPhone
}

// Meeting is the meeting a conversation booked (payload.meta[0]).
type Meeting struct {
	ID           string    `json:"id"`
	Name         string    `json:"name,omitempty"`
	ScheduledAt  time.Time `json:"scheduled_at,omitzero"`
	Status       string    `json:"status,omitempty"`
	MeetingURL   string    `json:"meeting_url,omitempty"`
	Participants []string  `json:"participants,omitempty"`
	Timezone     string    `json:"timezone,omitempty"`
	DurationMin  int       `json:"duration_min,omitempty"`
}
