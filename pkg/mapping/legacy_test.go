package mapping

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/saleassist-pipeline/pipeline"
)

// legacyFromPayload is the hard-coded mapping the pipeline ran before mappings were
// configurable, kept verbatim as the reference DefaultMapping must reproduce
// (TestDefaultMappingMatchesLegacy).
func legacyFromPayload(m *Mapper, payload map[string]any, receivedAt time.Time) (*pipeline.Lead, error) {
	pd, ok := payload["people_detail"].(map[string]any)
	if !ok || len(pd) == 0 {
		return nil, nil
	}
	l := new(pipeline.Lead)
	usable := false
	for k, v := range pd {
		if dst := legacyField(l, k); dst != nil {
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
	// Added with issue 11 (identity.go): a placeholder is no key; as sent, it stays in Attributes.
	for key, f := range map[string]*string{"email": &l.Email, "mobile_number": &l.MobileNumber} {
		if *f == "" || (key == "email" && !IsPlaceholderEmail(*f)) || (key != "email" && !IsPlaceholderPhone(*f)) {
			continue
		}
		*f = ""
		raw, err := encodeJSON(pd[key])
		if err != nil {
			return nil, err
		}
		if l.Attributes == nil {
			l.Attributes = make(map[string]json.RawMessage, 2)
		}
		l.Attributes[key] = raw
	}
	if alt, ok := text(payload["unique_field_value"]); ok && alt != "" && alt != mobile {
		if n, ok := m.NormalizePhone(alt); ok && n != l.MobileNumber && !IsPlaceholderPhone(n) {
			l.AltPhone = n
		}
	}
	l.SeenAt = legacySeenAt(payload, receivedAt)
	return l, nil
}

func legacyField(l *pipeline.Lead, key string) *string {
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

func legacySeenAt(payload map[string]any, receivedAt time.Time) time.Time {
	if ms, ok := epochMillis(payload["updated_on"]); ok {
		return time.UnixMilli(ms).UTC()
	}
	if ms, ok := epochMillis(payload["created_on"]); ok {
		return time.UnixMilli(ms).UTC()
	}
	return receivedAt.UTC()
}
