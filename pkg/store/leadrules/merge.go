package leadrules

import (
	"encoding/json"

	"github.com/saleassist-pipeline/pipeline"
)

// Merge returns stored updated with in. Information SaleAssist changed at the same time or later
// than what is stored wins wherever it says something; older information (a delivery that
// arrived out of order) only fills gaps. Attributes follow the same rule key by key.
func Merge(stored, in pipeline.Lead) pipeline.Lead {
	newer := !in.SeenAt.Before(stored.SeenAt)
	out := stored
	dst, src := TextFields(&out), TextFields(&in)
	for i := range dst {
		if *src[i] != "" && (newer || *dst[i] == "") {
			*dst[i] = *src[i]
		}
	}
	if len(in.Attributes) > 0 {
		attrs := make(map[string]json.RawMessage, len(stored.Attributes)+len(in.Attributes))
		for k, v := range stored.Attributes {
			attrs[k] = v
		}
		for k, v := range in.Attributes {
			if _, ok := attrs[k]; newer || !ok {
				attrs[k] = v
			}
		}
		out.Attributes = attrs
	}
	if newer {
		out.SeenAt = in.SeenAt
	}
	return out
}

// TextFieldCount is len(TextFields(l)).
const TextFieldCount = 17

// EmailField is the index of l.Email in TextFields(l): stores keep an empty email as NULL.
const EmailField = 2

// TextFields lists l's text fields in the stores' column order: source_id, name, email,
// mobile_number, alt_phone, address, pincode, city, state, country, utm_source, utm_medium,
// utm_campaign, utm_term, utm_content, product_category, product_sku.
func TextFields(l *pipeline.Lead) []*string {
	return []*string{&l.SourceID, &l.Name, &l.Email, &l.MobileNumber, &l.AltPhone, &l.Address,
		&l.Pincode, &l.City, &l.State, &l.Country, &l.UTMSource, &l.UTMMedium, &l.UTMCampaign,
		&l.UTMTerm, &l.UTMContent, &l.ProductCategory, &l.ProductSKU}
}

// TextColumns names the columns of TextFields, in the same order.
const TextColumns = `source_id, name, email, mobile_number, alt_phone, address, pincode, city,
	state, country, utm_source, utm_medium, utm_campaign, utm_term, utm_content, product_category,
	product_sku`
