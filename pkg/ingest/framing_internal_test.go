package ingest

import "testing"

// BenchmarkFramingWatch is what the framing watcher costs a typical request on a connection: its
// header block scanned once more, its body skipped.
func BenchmarkFramingWatch(b *testing.B) {
	req := []byte("POST /webhooks/saleassist HTTP/1.1\r\nHost: ingest.example.com\r\nUser-Agent: SaleAssist-Webhook/1.0\r\n" +
		"Content-Type: application/json; charset=UTF-8\r\nX-Webhook-Secret: 0123456789abcdef0123456789abcdef\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nAccept-Encoding: gzip\r\nContent-Length: 5920\r\n\r\n")
	body := make([]byte, 5920)
	b.SetBytes(int64(len(req) + len(body)))
	b.ReportAllocs()
	var c framedConn
	for b.Loop() {
		c.watch(req)
		c.watch(body)
	}
	if c.stopped.Load() || c.inBody != 0 {
		b.Fatal("lost the framing")
	}
}
