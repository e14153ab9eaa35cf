package mapping

import (
	"strconv"
	"strings"

	"github.com/saleassist-pipeline/pipeline"
)

// fieldID names a text field of Lead a mapping can fill. The order is Lead's, which is also the
// order a Mapper fills them in: mobile_number before alt_phone, so the phone the two share is
// parsed once.
type fieldID uint8

const (
	fSourceID fieldID = iota
	fName
	fEmail
	fMobileNumber
	fAltPhone
	fAddress
	fPincode
	fCity
	fState
	fCountry
	fUTMSource
	fUTMMedium
	fUTMCampaign
	fUTMTerm
	fUTMContent
	fProductCategory
	fProductSKU
	numFields
)

// fieldNames are the targets' names in a mapping: Lead's JSON names, indexed by fieldID.
var fieldNames = [numFields]string{
	"source_id", "name", "email", "mobile_number", "alt_phone", "address", "pincode", "city",
	"state", "country", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"product_category", "product_sku",
}

// attributesPrefix starts a target that is a custom attribute: attributes.<key>.
const attributesPrefix = "attributes."

// defaultTransforms are what a target's value goes through when its entry gives no transforms
// list: email and phones are the keys leads are matched on, so a short-form entry still
// normalizes them. An explicit list, even an empty one, replaces these.
var defaultTransforms = map[fieldID][]transform{
	fEmail:        {tTrim, tLowercase},
	fMobileNumber: {tE164},
	fAltPhone:     {tE164Strict},
}

// parseField returns the fieldID a target names, and false when it names none.
func parseField(name string) (fieldID, bool) {
	for i, n := range fieldNames {
		if n == name {
			return fieldID(i), true
		}
	}
	return 0, false
}

// validTargets lists the targets for an error message.
func validTargets() string {
	return strings.Join(fieldNames[:], ", ") + ", or attributes.<key> for a custom attribute"
}

// fieldPtr returns the field of l that id names.
func fieldPtr(l *pipeline.Lead, id fieldID) *string {
	switch id {
	case fSourceID:
		return &l.SourceID
	case fName:
		return &l.Name
	case fEmail:
		return &l.Email
	case fMobileNumber:
		return &l.MobileNumber
	case fAltPhone:
		return &l.AltPhone
	case fAddress:
		return &l.Address
	case fPincode:
		return &l.Pincode
	case fCity:
		return &l.City
	case fState:
		return &l.State
	case fCountry:
		return &l.Country
	case fUTMSource:
		return &l.UTMSource
	case fUTMMedium:
		return &l.UTMMedium
	case fUTMCampaign:
		return &l.UTMCampaign
	case fUTMTerm:
		return &l.UTMTerm
	case fUTMContent:
		return &l.UTMContent
	case fProductCategory:
		return &l.ProductCategory
	case fProductSKU:
		return &l.ProductSKU
	}
	panic("mapping: unknown field " + strconv.Itoa(int(id)))
}
