package console

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// csvHeader is the header row of leads.csv; csvRow writes the columns in this order.
var csvHeader = []string{"id", "name", "email", "mobile_number", "alt_phone", "address", "pincode", "city",
	"state", "country", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"product_category", "product_sku", "source_id", "events", "created_at", "updated_at"}

func csvRow(row []string, l *store.LeadSummary) []string {
	row = append(row[:0], strconv.FormatInt(l.ID, 10))
	for _, v := range []string{l.Name, l.Email, l.MobileNumber, l.AltPhone, l.Address, l.Pincode, l.City,
		l.State, l.Country, l.UTMSource, l.UTMMedium, l.UTMCampaign, l.UTMTerm, l.UTMContent,
		l.ProductCategory, l.ProductSKU, l.SourceID} {
		row = append(row, cell(v))
	}
	return append(row, strconv.FormatInt(l.Events, 10), l.CreatedAt.Format(time.RFC3339), l.UpdatedAt.Format(time.RFC3339))
}

// cell defuses spreadsheet formulas: a value a visitor typed that starts with = @ + - (or a tab
// or carriage return) would be evaluated when the export is opened in Excel or Sheets, so it gets
// a leading apostrophe. A phone number such as +919876543210 is left alone: it is only a number.
func cell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if strings.Trim(v[1:], "0123456789 ") != "" {
			return "'" + v
		}
	}
	return v
}

// csvWriteWindow is how long one page of the export may take to reach the client: the export
// as a whole may take longer than the server's WriteTimeout, a stalled client may not.
const csvWriteWindow = 30 * time.Second

// apiLeadsCSV streams every lead matching q as CSV, a page at a time (store.EachLead), so memory
// stays flat however many leads there are.
func (s *Server) apiLeadsCSV(w http.ResponseWriter, r *http.Request) {
	f, _ := s.filter(r.URL.Query().Get("q"))
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="leads.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	row := make([]string, 0, len(csvHeader))
	n := 0
	err := store.EachLead(r.Context(), s.store, f, func(l *store.LeadSummary) error {
		if n%store.MaxPageSize == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(csvWriteWindow))
		}
		n++
		if err := cw.Write(csvRow(row, l)); err != nil {
			return err
		}
		if n%store.MaxPageSize == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err != nil && n == 0 {
		// Nothing has left the buffer yet (the header row is short): a proper error still fits.
		h.Del("Content-Disposition")
		writeAPI(w, nil, s.internal("exporting leads", err))
		return
	}
	cw.Flush()
	if err != nil && r.Context().Err() == nil {
		// The header is sent: the best left is to cut the export short and say so in the log.
		s.log.Error("console: leads.csv stopped", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}
