package console

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The limiter: a burst per address, one attempt back per interval, addresses apart.
func TestSignInLimiter(t *testing.T) {
	t.Parallel()
	l := newSignInLimiter(3, 10*time.Second)
	now := time.Unix(1_700_000_000, 0)
	for range 3 {
		ok, _ := l.take("a", now)
		require.True(t, ok)
	}
	ok, wait := l.take("a", now)
	require.False(t, ok)
	require.Equal(t, 10*time.Second, wait)
	ok, _ = l.take("b", now)
	require.True(t, ok, "another address has its own attempts")
	ok, wait = l.take("a", now.Add(4*time.Second))
	require.False(t, ok)
	require.Equal(t, 6*time.Second, wait)
	ok, _ = l.take("a", now.Add(10*time.Second))
	require.True(t, ok, "one attempt back after the interval")
	ok, _ = l.take("a", now.Add(10*time.Second))
	require.False(t, ok)
}

// An IPv6 client is counted by its /64; an IPv4 one by its address, mapped or not.
func TestClientKey(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.0.2.7:5555":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":         "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:443":   "2001:db8:1:2::/64",
		"unix-socket-peer-without-a-port": "unix-socket-peer-without-a-port",
	} {
		r := httptest.NewRequest("POST", "/signin", nil)
		r.RemoteAddr = addr
		require.Equal(t, want, clientKey(r), addr)
	}
}

// next is followed only to a path of the console.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"//evil.example/x", `/\evil.example`, `\\evil.example`, "https://evil.example/",
		"http:evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "javascript:alert(1)",
		"evil.example", "/signin", "/signin?next=/x", " //evil.example", "/ /evil.example", "", "//", "///evil.example",
		"/\u00a0/evil.example", "/\u2028/evil.example", "/%zz"} {
		require.Equal(t, "/", safeNext(next), "%q", next)
	}
	for _, next := range []string{"/deadletters", "/deadletters?x=1", "/events?id=..", "/events/%2E%2E", "/?q=asha+rao&cursor=abc",
		"/schema/a%2F%2Fb", "/%2F%2Fevil.example"} {
		require.Equal(t, next, safeNext(next), "%q", next)
	}
}
