package drills

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The drills' hosts lab: its prefix (namespaces sadrl-<host>, links sadrlh<n>, the bridge
// sadrlbr, cgroups sadrl/<host>) and its subnet (the bridge, where the drill itself sits, is
// .1). Both are the drills' own, apart from the benches' and the lab's tests.
const LabPrefix = "sadrl"

// LabSubnet is the lab's /24.
var LabSubnet = netip.MustParsePrefix("10.211.9.0/24")

// Ports every process listens on at its host's own address: each host has an address of its
// own, so the ports are fixed, as on real machines.
const (
	NATSPort        = 4222
	NATSClusterPort = 6222
	NATSMonitorPort = 8222
	IngestPort      = 8080
	WorkerPort      = 9091
)

// NewLab makes the drills' hosts lab, after removing whatever an earlier run left, and removes
// it (every namespace, link and cgroup, and the processes in them) when t ends, pass or fail.
// When the lab cannot run here (no root, no cgroup v1 cpu and cpuacct, no iproute2), it fails
// the drill under CI=true, where the lab must run, and otherwise returns nil and why.
func NewLab(t testing.TB) (*lab.Lab, error) {
	t.Helper()
	if err := lab.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the hosts lab cannot run: %v", err)
		}
		return nil, err
	}
	l, err := lab.New(LabPrefix, LabSubnet)
	if err != nil {
		t.Fatalf("make the hosts lab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("remove the hosts lab: %v", err)
		}
	})
	return l, nil
}

// RequireLab is NewLab for a drill that means nothing without hosts (a partition is a host's link
// taken down): it skips, in one line saying why, when the lab cannot run (fails under CI=true).
func RequireLab(t testing.TB) *lab.Lab {
	t.Helper()
	l, err := NewLab(t)
	if l == nil {
		t.Skipf("skipped: %v; this drill cuts hosts off, so it runs only on the hosts lab (root, cgroup v1 cpu and cpuacct)", err)
	}
	return l
}

// PlanNATSOn plans one nats-server node per host (one cluster when there are several), on the
// hosts' own addresses, with monitoring (connz) on NATSMonitorPort; StartPlannedNATS starts them.
func PlanNATSOn(hosts []*lab.Host) []*NATSNode {
	nodes := make([]*NATSNode, len(hosts))
	for i, h := range hosts {
		nodes[i] = &NATSNode{Port: NATSPort, clusterPort: NATSClusterPort, Host: h, MonitorPort: NATSMonitorPort}
	}
	return nodes
}

// Client is one client connection of a nats-server, from its monitoring (connz).
type Client struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// Clients lists the node's client connections (monitoring on a lab host only).
func (n *NATSNode) Clients() ([]Client, error) {
	if n.MonitorPort == 0 {
		return nil, fmt.Errorf("%s has no monitoring port", n.Name)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s:%d/connz?limit=1024", n.addr(), n.MonitorPort))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var c struct {
		Connections []Client `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, fmt.Errorf("%s connz: %w", n.Name, err)
	}
	return c.Connections, nil
}

// Replica is one server's copy of the events stream, as its leader sees it.
type Replica struct {
	Name    string
	Leader  bool
	Current bool
	Lag     uint64
	Offline bool
}

// Replicas lists the events stream's copies: the leader's, then its followers', with how far
// each is behind.
func Replicas(ctx context.Context, js jetstream.JetStream) ([]Replica, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, queue.DefaultStream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil {
		return nil, fmt.Errorf("stream %s has no cluster information", queue.DefaultStream)
	}
	out := []Replica{{Name: info.Cluster.Leader, Leader: true, Current: true}}
	for _, p := range info.Cluster.Replicas {
		out = append(out, Replica{Name: p.Name, Current: p.Current, Lag: p.Lag, Offline: p.Offline})
	}
	return out, nil
}

// Stored is how many rows the events table of db (a SQLite path or a PostgreSQL URL) holds.
func Stored(db string) (int, error) {
	s, err := openStore(db)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err = s.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

// StepDown asks the events stream's leader to hand its leadership to another node.
func StepDown(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+queue.DefaultStream, nil)
	return err
}
