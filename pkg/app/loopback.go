package app

import (
	"fmt"
	"net"
)

// isLoopback reports whether the host of addr (host:port) is "localhost" or a loopback address;
// ok is false when addr is not host:port, which the caller's own parsing then reports.
func isLoopback(addr string) (loopback, ok bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback(), true
}

// checkEmbeddedListen refuses an embedded NATS address beyond loopback unless allowed: the
// embedded server has no authentication, so whoever reaches it can read every event (lead data),
// publish events past the webhook secret, and delete dead letters and quarantined requests.
// Extra workers on the same host need only loopback.
func checkEmbeddedListen(addr string, allowRemote bool) error {
	if addr == "" || allowRemote {
		return nil
	}
	if loopback, ok := isLoopback(addr); !ok || loopback {
		return nil
	}
	return fmt.Errorf("EMBEDDED_NATS_ADDR=%q listens beyond loopback, and the embedded NATS server has no authentication: "+
		"anyone who reaches it can read every event and publish past the webhook secret. Use 127.0.0.1:<port> "+
		"(workers on this host attach there), leave it empty, or, only behind a firewall, set EMBEDDED_NATS_ALLOW_REMOTE=true", addr)
}
