package console

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"strings"
)

// Flash messages ("Replayed dead letter 4 …") are said after a redirect (post/redirect/get). They
// travel in a short-lived cookie the server sets and signs, bound to the session, never in the
// URL: a link such as /deadletters?done=<any text> would put a stranger's words in the console's
// own success box (content spoofing). The page that shows a flash clears it, so a reload does not
// repeat it.

// FlashCookie is the name of the cookie carrying a message to the next page; flashTTL bounds its life.
const (
	FlashCookie = "console_flash"
	flashTTL    = 60 // seconds
)

// setFlash keeps msg for the next page the session r belongs to loads.
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, msg string) {
	p, _ := r.Context().Value(principalKey{}).(principal)
	enc := base64.RawURLEncoding.EncodeToString([]byte(msg))
	http.SetCookie(w, &http.Cookie{Name: FlashCookie, Value: enc + "." + mac(s.auth.flashKey, p.nonce, enc),
		Path: "/", MaxAge: flashTTL, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
}

// takeFlash returns the message the server left for this session, if any, and clears it. A
// cookie the server did not sign for this session is ignored (and cleared).
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(FlashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: FlashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	p, _ := r.Context().Value(principalKey{}).(principal)
	enc, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(mac(s.auth.flashKey, p.nonce, enc))) {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return string(msg)
}
