package console

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

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
// a leading apostrophe. What comes first is judged after any spaces and invisible characters (a
// byte order mark, zero-width spaces), which some spreadsheets drop before they look. A phone
// number such as +919876543210 is left alone: it is only a number.
func cell(v string) string {
	if v == "" {
		return v
	}
	if v[0] == '\t' || v[0] == '\r' {
		return "'" + v
	}
	rest := strings.TrimLeftFunc(v, invisibleOrSpace)
	if rest == "" {
		return v
	}
	switch rest[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if strings.Trim(rest[1:], "0123456789 ") != "" {
			return "'" + v
		}
	}
	return v
}

// invisibleOrSpace is a space or a character a reader cannot see: a format character (the byte
// order mark U+FEFF, zero-width spaces and joiners, bidi marks) or a control one.
func invisibleOrSpace(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.IsControl(r)
}

// utf8BOM starts leads.csv unless ?bom=0: Excel reads a CSV file without it in the machine's
// legacy code page, so "José" opens as "JosÃ©". It goes before the header row, never into a
// cell of data, so it cannot hide a formula.
const utf8BOM = "\ufeff"

// bomWriter writes the byte order mark before the first bytes, so the mark leaves with the
// first buffered page rather than committing the answer on its own.
type bomWriter struct {
	w    io.Writer
	sent bool
}

func (b *bomWriter) Write(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		if _, err := io.WriteString(b.w, utf8BOM); err != nil {
			return 0, err
		}
	}
	return b.w.Write(p)
}

// csvWriteWindow is how long one page of the export may take to reach the client: the export
// as a whole may take longer than the server's WriteTimeout, a stalled client may not.
const csvWriteWindow = 30 * time.Second

// apiLeadsCSV streams every lead matching q as CSV, a page at a time (store.EachLead), so memory
// stays flat however many leads there are.
//
// The file starts with a UTF-8 byte order mark, so Excel opens it with accents intact; ?bom=0
// leaves it out (for programs that take the mark for part of the first column's name).
func (s *Server) apiLeadsCSV(w http.ResponseWriter, r *http.Request) {
	var out io.Writer = &bomWriter{w: w}
	switch v := r.URL.Query().Get("bom"); v {
	case "", "1", "true":
	case "0", "false":
		out = w
	default:
		writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("bom=%q: use bom=0 for a file without the UTF-8 byte order mark (it is there by default, for Excel)", v))
		return
	}
	f, _ := s.filter(r.URL.Query().Get("q"))
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="leads.csv"`)
	cw := csv.NewWriter(out)
	_ = cw.Write(csvHeader)
	row := make([]string, 0, len(csvHeader))
	n := 0
	err := store.EachLead(r.Context(), s.store, accountOf(r), f, func(l *store.LeadSummary) error {
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
