package lead

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Mapper builds Leads from event payloads: it maps people_detail fields and normalizes phone
// numbers against a default region. A Mapper holds no mutable state, so one value is safe for
// concurrent use by any number of goroutines.
type Mapper struct {
	// region is the upper-case ISO 3166-1 alpha-2 code numbers without a '+' are read in.
	region string
}

// NewMapper returns a Mapper reading phone numbers written without a country code (such as
// "09876543210") as numbers of defaultRegion, an ISO 3166-1 alpha-2 code like "IN". The code is
// trimmed and upper-cased first; an error names the value when phonenumbers does not know it.
func NewMapper(defaultRegion string) (*Mapper, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if !phonenumbers.GetSupportedRegions()[region] {
		return nil, fmt.Errorf("lead: default phone region %q is not a region phonenumbers knows: "+
			"use an ISO 3166-1 alpha-2 country code such as \"IN\" or \"US\"", defaultRegion)
	}
	return &Mapper{region: region}, nil
}

// FromPayload builds the lead from payload.people_detail, where payload is the decoded "payload"
// object of an event (numbers as json.Number, from a decoder with UseNumber; float64 also works).
// It returns (nil, nil) when there is no people_detail object or none of its values is usable
// (all absent, null, empty strings or empty objects and arrays): such an event names no person.
//
// The known fields fill the Lead's fields (strings trimmed, numbers as their text; email and
// mobile_number normalized). Every other field, and a known field whose value is neither a
// string nor a number (an object, say), goes to Attributes as its JSON, so nothing is dropped.
// AltPhone is payload.unique_field_value when that is a valid phone number other than
// MobileNumber. SeenAt is payload.updated_on, else payload.created_on (epoch milliseconds), else
// receivedAt; always UTC.
//
// The only error is a people_detail value that cannot be encoded as JSON, which a decoded
// payload never holds.
func (m *Mapper) FromPayload(payload map[string]any, receivedAt time.Time) (*Lead, error) {
	pd, ok := payload["people_detail"].(map[string]any)
	if !ok || len(pd) == 0 {
		return nil, nil
	}
	l := new(Lead)
	usable := false
	for k, v := range pd {
		if dst := l.field(k); dst != nil {
			if s, ok := text(v); ok {
				*dst = s
				usable = usable || s != ""
				continue
			}
		}
		raw, err := encodeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("lead: encode people_detail.%s: %w", k, err)
		}
		if l.Attributes == nil {
			l.Attributes = make(map[string]json.RawMessage, len(pd))
		}
		l.Attributes[k] = raw
		usable = usable || hasValue(v)
	}
	if !usable {
		return nil, nil
	}
	l.Email = NormalizeEmail(l.Email)
	mobile := l.MobileNumber
	l.MobileNumber, _ = m.NormalizePhone(mobile)
	// The same text normalizes the same way: skip the second parse, the costly part.
	if alt, ok := text(payload["unique_field_value"]); ok && alt != "" && alt != mobile {
		if n, ok := m.NormalizePhone(alt); ok && n != l.MobileNumber {
			l.AltPhone = n
		}
	}
	l.SeenAt = seenAt(payload, receivedAt)
	return l, nil
}

// field returns the Lead field that people_detail key fills, or nil when the key is not one of
// the mapped fields (its value then goes to Attributes).
func (l *Lead) field(key string) *string {
	switch key {
	case "id":
		return &l.SourceID
	case "name":
		return &l.Name
	case "email":
		return &l.Email
	case "mobile_number":
		return &l.MobileNumber
	case "address":
		return &l.Address
	case "pincode":
		return &l.Pincode
	case "widget_city":
		return &l.City
	case "widget_state":
		return &l.State
	case "widget_country":
		return &l.Country
	case "utm_source":
		return &l.UTMSource
	case "utm_medium":
		return &l.UTMMedium
	case "utm_campaign":
		return &l.UTMCampaign
	case "utm_term":
		return &l.UTMTerm
	case "utm_content":
		return &l.UTMContent
	case "product_category":
		return &l.ProductCategory
	case "product_sku":
		return &l.ProductSKU
	}
	return nil
}

// seenAt picks the time SaleAssist last changed the person: updated_on, else created_on, else
// the time the event arrived. A zero or unreadable stamp counts as absent.
func seenAt(payload map[string]any, receivedAt time.Time) time.Time {
	if ms, ok := epochMillis(payload["updated_on"]); ok {
		return time.UnixMilli(ms).UTC()
	}
	if ms, ok := epochMillis(payload["created_on"]); ok {
		return time.UnixMilli(ms).UTC()
	}
	return receivedAt.UTC()
}

// NormalizeEmail trims s and lower-cases it, so that one address is one key whatever case the
// person typed it in. It does not check that s is an address.
func NormalizeEmail(s string) string {
	// strings.ToLower returns its argument unchanged, without allocating, when it has no
	// upper-case letter: the common case.
	return strings.ToLower(strings.TrimSpace(s))
}
