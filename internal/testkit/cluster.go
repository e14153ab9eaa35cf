package testkit

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// globalAccount is the account clients land in when the servers configure none.
const globalAccount = "$G"

// clusterReadyTimeout bounds how long StartCluster waits for routes and a JetStream meta leader.
const clusterReadyTimeout = 30 * time.Second

// Cluster is a JetStream cluster of nats-servers running in this process, each with its own
// client port, cluster port and store directory, routed to all the others. It is what production
// runs as three machines (replicas 3), in one test.
type Cluster struct {
	t       testing.TB
	name    string
	mu      sync.Mutex
	servers []*server.Server
	down    map[*server.Server]bool
}

// StartCluster starts n JetStream-enabled nats-servers forming one cluster and waits until the
// routes are up, a JetStream meta leader is elected with all n peers current, and a client sees
// JetStream answer. Ports are random (never 4222), files live in t.TempDir(), the servers do not
// log. Every server is shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	require.GreaterOrEqual(t, n, 1, "a cluster needs at least one server")
	c := &Cluster{t: t, name: fmt.Sprintf("testkit-%d", time.Now().UnixNano()%1e6), down: map[*server.Server]bool{}}
	// Every server must know its routes before it starts (JetStream refuses to cluster without
	// configured routes), so the cluster ports are picked first. A port taken in between makes the
	// start fail; it is retried with fresh ports.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.start(n); err == nil {
			break
		}
		c.shutdownAll()
		c.servers, c.down = nil, map[*server.Server]bool{}
	}
	require.NoError(t, err, "start a %d-node JetStream cluster", n)
	t.Cleanup(c.shutdownAll)
	c.awaitReady(n)
	return c
}

func (c *Cluster) start(n int) error {
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("%s-n%d", c.name, i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			NoSigs:     true,
			NoLog:      true,
			JetStream:  true,
			StoreDir:   c.t.TempDir(),
			// Fixed limits rather than a share of the free disk space, which three servers on one disk
			// would each claim.
			JetStreamMaxMemory: 256 << 20,
			JetStreamMaxStore:  16 << 30,
			Cluster: server.ClusterOpts{
				Name: c.name,
				Host: "127.0.0.1",
				Port: ports[i],
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			return fmt.Errorf("server %s: %w", opts.ServerName, err)
		}
		s.Start()
		c.servers = append(c.servers, s)
		if !s.ReadyForConnections(10 * time.Second) {
			return fmt.Errorf("server %s: not ready for connections within 10s (cluster port %d taken?)", opts.ServerName, ports[i])
		}
	}
	return nil
}

// awaitReady waits for full routes, an elected meta leader that sees all n peers, every server
// current with it, and a client's JetStream account info.
func (c *Cluster) awaitReady(n int) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		for _, s := range c.servers {
			if s.NumRoutes() < n-1 {
				return false
			}
		}
		return true
	}, clusterReadyTimeout, 10*time.Millisecond, "routes between the %d servers", n)
	require.Eventually(c.t, func() bool {
		leader := c.MetaLeader()
		if leader == nil || len(leader.JetStreamClusterPeers()) != n {
			return false
		}
		for _, s := range c.servers {
			if !s.JetStreamIsCurrent() {
				return false
			}
		}
		return true
	}, clusterReadyTimeout, 10*time.Millisecond, "a JetStream meta leader with %d current peers", n)
	nc, err := nats.Connect(c.URLs())
	require.NoError(c.t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(c.t, err)
	require.Eventually(c.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	}, clusterReadyTimeout, 20*time.Millisecond, "JetStream account info from a client")
}

// freePorts returns n distinct loopback ports nobody listens on right now.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Servers returns every server of the cluster, those shut down included, in start order.
func (c *Cluster) Servers() []*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.servers)
}

// Running returns the servers not shut down.
func (c *Cluster) Running() []*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*server.Server
	for _, s := range c.servers {
		if !c.down[s] && s.Running() {
			up = append(up, s)
		}
	}
	return up
}

// URLs returns the client URLs of all servers, comma-separated, as NATS_URL takes them.
func (c *Cluster) URLs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	urls := make([]string, len(c.servers))
	for i, s := range c.servers {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

// MetaLeader returns the running server that is the JetStream meta leader, or nil during an
// election.
func (c *Cluster) MetaLeader() *server.Server {
	for _, s := range c.Running() {
		if s.JetStreamIsLeader() {
			return s
		}
	}
	return nil
}

// StreamLeader returns the running server leading the stream's raft group (in the global
// account), or nil while it has none.
func (c *Cluster) StreamLeader(stream string) *server.Server {
	for _, s := range c.Running() {
		if s.JetStreamIsStreamLeader(globalAccount, stream) {
			return s
		}
	}
	return nil
}

// ConsumerLeader returns the running server leading the consumer's raft group, or nil.
func (c *Cluster) ConsumerLeader(stream, consumer string) *server.Server {
	for _, s := range c.Running() {
		if s.JetStreamIsConsumerLeader(globalAccount, stream, consumer) {
			return s
		}
	}
	return nil
}

// AwaitStreamLeader waits up to timeout for the stream to have a leader, and returns it.
func (c *Cluster) AwaitStreamLeader(stream string, timeout time.Duration) *server.Server {
	c.t.Helper()
	var leader *server.Server
	require.Eventually(c.t, func() bool { leader = c.StreamLeader(stream); return leader != nil },
		timeout, 10*time.Millisecond, "a leader for stream %s", stream)
	return leader
}

// Shutdown stops s, as a crash of that machine would (clients connected to it are cut off), and
// waits until it is down. The rest of the cluster keeps running.
func (c *Cluster) Shutdown(s *server.Server) {
	c.mu.Lock()
	c.down[s] = true
	c.mu.Unlock()
	s.Shutdown()
	s.WaitForShutdown()
}

func (c *Cluster) shutdownAll() {
	for _, s := range c.Servers() {
		c.Shutdown(s)
	}
}
