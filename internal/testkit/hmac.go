package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// HMAC returns the HMAC-SHA256 of body under key: what a sender signs a webhook with when the
// ingest checks WEBHOOK_SIGNATURE_HEADER. Tests encode it as each case needs (hex, base64,
// "sha256=" prefix); HMACHex is the common form.
func HMAC(key string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return m.Sum(nil)
}

// HMACHex returns HMAC(key, body) in lower-case hex, the signature header's plain form.
func HMACHex(key string, body []byte) string {
	return hex.EncodeToString(HMAC(key, body))
}
