// Package loopback is the one check of whether a listen address stays on this host, shared by
// the settings that are safe only there: the embedded NATS server (no authentication), the
// console (a generated token), pprof (memory profiles).
package loopback

import "net"

// Is reports whether addr (host:port) listens on loopback only: its host is "localhost" or a
// loopback IP. An empty host (":8081") listens everywhere, so it is not loopback. The error,
// net.SplitHostPort's, says that addr is not host:port.
func Is(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback(), nil
}
