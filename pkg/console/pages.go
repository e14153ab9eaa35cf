package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

// styleCSS is the one stylesheet. It holds no /* comments */: html/template drops comments from
// a <style> element, which would change its text and so its hash below. On a phone (max-width
// 640px) tables marked "cards" become one card per row, each cell a line with its column's name
// (data-label) before it, the row's actions on the card, so no page scrolls sideways.
//
//go:embed assets/style.css
var styleCSS string

// styleHash is the Content-Security-Policy source of the one inline style element, so the policy
// allows exactly that stylesheet and nothing else inline.
var styleHash = func() string {
	sum := sha256.Sum256([]byte(styleCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// pages are the parsed templates, one per page, each the layout plus its content.
type pages struct{ byName map[string]*template.Template }

var pageNames = []string{"signin", "error", "leads", "lead", "event", "deadletters", "deadletter", "discarded", "quarantine", "schema", "stats"}

// funcs are the templates' functions; times are shown in c's zone.
func funcs(c clock) template.FuncMap {
	return template.FuncMap{
		"fmtTime":  c.html,
		"zone":     c.zone,
		"phone":    formatPhone,
		"tel":      telURL,
		"attrs":    attributes,
		"clip":     clip,
		"indent":   indentJSON,
		"join":     strings.Join,
		"eventURL": eventURL, "schemaURL": schemaURL, "previewURL": previewURL, "starterURL": starterURL,
	}
}

// clip shortens s to n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// indentJSON pretty-prints a payload for reading; text that is not JSON stays as it is.
func indentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// loadPages parses the embedded templates. The stylesheet is placed into the layout's text
// before parsing, so it is the template's own (trusted) text rather than data passed through a
// typed string.
func loadPages(c clock) (*pages, error) {
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	base := strings.Replace(string(layout), "/*STYLE*/", styleCSS, 1)
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		body, err := templateFS.ReadFile("templates/" + name + ".html")
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Funcs(funcs(c)).Parse(base)
		if err == nil {
			t, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// pageData is what every page template gets.
type pageData struct {
	Title string
	// Nav marks the current section; CSRF is the session's token for forms (empty on sign-in,
	// which also hides the navigation).
	Nav, CSRF    string
	Flash, Error string
	// Account is the header's account switcher or name; nil when there is none to show.
	Account *accountHeader
	Data    any
}

// render writes page name, buffered so a template error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	if d.CSRF == "" {
		d.CSRF = s.csrfToken(r)
	}
	if d.CSRF != "" {
		d.Account = s.header(r, d.Nav)
	}
	var b bytes.Buffer
	if err := s.pages.byName[name].Execute(&b, d); err != nil {
		s.log.Error("console: render "+name, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "rendering the page failed; the console's log says why")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// renderError shows an API error as a page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.render(w, r, e.Status, "error", pageData{Title: "Error", Error: e.Message})
}

// signOut ends the session on the server, so its cookie is refused from now on wherever a copy
// of it is, and clears it in the browser.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if p, _ := r.Context().Value(principalKey{}).(principal); p.nonce != "" {
		s.auth.sessions.end(p.nonce)
	}
	clearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
