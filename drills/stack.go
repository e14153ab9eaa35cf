package drills

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Secret is the webhook secret every drill's ingest accepts (WEBHOOK_SECRETS).
const Secret = "drill-secret-0123456789abcdef"

// Bins are the binaries a drill runs: the real cmd/ingest and cmd/worker, and nats-server built
// from the nats-server module this repository already requires (so no nats-server needs to be
// installed, and its version is the one go.mod pins).
type Bins struct {
	Dir, Ingest, Worker, NATS string
}

// Build builds the three binaries into a new temporary directory (without -race: the drills
// measure the programs as shipped). Remove Dir when done.
func Build(ctx context.Context) (*Bins, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no go tool on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "saleassist-drills-bin-")
	if err != nil {
		return nil, err
	}
	b := &Bins{Dir: dir, Ingest: filepath.Join(dir, "ingest"), Worker: filepath.Join(dir, "worker"), NATS: filepath.Join(dir, "nats-server")}
	// One go build for the three, so that they compile and link in parallel. -o dir/ names each
	// binary after its package: ingest, worker, nats-server.
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", dir+string(filepath.Separator),
		"github.com/saleassist-pipeline/pipeline/cmd/ingest",
		"github.com/saleassist-pipeline/pipeline/cmd/worker",
		"github.com/nats-io/nats-server/v2",
	).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	for _, bin := range []string{b.Ingest, b.Worker, b.NATS} {
		if _, err := os.Stat(bin); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("go build: %w", err)
		}
	}
	return b, nil
}

// FreePort returns a loopback port nobody listens on right now, for a process that must come
// back on the same address after a restart.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NATSNode is one nats-server process with JetStream, on fixed ports and a store directory that
// survive its restarts.
type NATSNode struct {
	*Proc // nil until the node is started
	Port  int
	// clusterPort is where the other nodes route to it (clusters only).
	clusterPort int
	// Host is the lab host it runs on, listening on the host's address only, with monitoring on
	// MonitorPort; nil: loopback, no monitoring (PlanNATSOn sets both).
	Host *lab.Host
	// MonitorPort is its HTTP monitoring port (connz, jsz) on a lab host.
	MonitorPort int
}

// addr is the address the node listens on: its host's, or loopback.
func (n *NATSNode) addr() string {
	if n.Host != nil {
		return n.Host.Addr.String()
	}
	return "127.0.0.1"
}

// URL is the node's client URL.
func (n *NATSNode) URL() string { return fmt.Sprintf("nats://%s:%d", n.addr(), n.Port) }

// StartNATS starts n nats-server processes with JetStream (file storage, the server's default
// sync interval); with n > 1 they form one cluster. It waits until JetStream answers on each.
func StartNATS(t testing.TB, ps *Procs, bin, dir string, n int) []*NATSNode {
	t.Helper()
	nodes := PlanNATS(t, n)
	StartPlannedNATS(t, ps, bin, dir, nodes)
	return nodes
}

// PlanNATS picks the ports of n nats-server nodes (one cluster when n > 1) without starting them,
// so that a program can be pointed at them (URLs) before they run; StartPlannedNATS starts them.
func PlanNATS(t testing.TB, n int) []*NATSNode {
	t.Helper()
	nodes := make([]*NATSNode, n)
	for i := range n {
		nodes[i] = &NATSNode{Port: FreePort(t), clusterPort: FreePort(t)}
	}
	return nodes
}

// StartPlannedNATS starts the nodes PlanNATS picked, named nats1, nats2, …, and waits until
// JetStream answers on each (in a cluster: until it can place a stream on every node).
func StartPlannedNATS(t testing.TB, ps *Procs, bin, dir string, nodes []*NATSNode) {
	t.Helper()
	n := len(nodes)
	var routes []string
	for _, node := range nodes {
		routes = append(routes, fmt.Sprintf("nats-route://%s:%d", node.addr(), node.clusterPort))
	}
	for i, node := range nodes {
		name := fmt.Sprintf("nats%d", i+1)
		store := filepath.Join(dir, name)
		conf := fmt.Sprintf("server_name: %s\nlisten: %s:%d\n", name, node.addr(), node.Port) +
			// Fixed limits, not a share of the free disk and memory, which every node would claim.
			fmt.Sprintf("jetstream {\n  store_dir: %q\n  max_file_store: 4GB\n  max_memory_store: 64MB\n}\n", store)
		if node.MonitorPort != 0 {
			conf += fmt.Sprintf("http: %s:%d\n", node.addr(), node.MonitorPort)
		}
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: drills\n  listen: %s:%d\n  routes: [%s]\n}\n",
				node.addr(), node.clusterPort, strings.Join(routes, ", "))
		}
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		node.Proc = ps.StartOn(node.Host, name, nil, bin, nil, "-c", path)
	}
	for _, node := range nodes {
		AwaitJetStream(t, node, 30*time.Second)
	}
	if n > 1 {
		awaitPlacement(t, nodes, 30*time.Second)
	}
}

// awaitPlacement waits until the cluster can place a stream on all its nodes. Every node having
// a meta leader (AwaitJetStream) is not enough: until the leader has heard from every peer, a
// stream with replicas n fails with "no suitable peers for placement, peer offline" (an ingest
// started then answers 503 until it can make its streams: drill 10). So it creates a small in-memory stream with
// replicas n until that works, and deletes it.
func awaitPlacement(t testing.TB, nodes []*NATSNode, timeout time.Duration) {
	t.Helper()
	nc, err := nats.Connect(URLs(nodes), nats.Timeout(time.Second))
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.StreamConfig{Name: "DRILLS_PLACEMENT_PROBE", Subjects: []string{"drills.placement.probe"},
		Replicas: len(nodes), Storage: jetstream.MemoryStorage}
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.CreateStream(ctx, cfg)
		if err == nil {
			err = js.DeleteStream(ctx, cfg.Name)
			cancel()
			if err != nil {
				t.Fatalf("delete the placement probe stream: %v", err)
			}
			return
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("the %d-node cluster cannot place a stream on all its nodes within %s: %v", len(nodes), timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AwaitJetStream waits until the node accepts connections and its JetStream answers (in a
// cluster: a meta leader is elected).
func AwaitJetStream(t testing.TB, node *NATSNode, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if !node.Running() {
			t.Fatalf("%s exited: %s", node.Name, node.Tail(20))
		}
		last = func() error {
			nc, err := nats.Connect(node.URL(), nats.Timeout(time.Second), nats.NoReconnect())
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err = js.AccountInfo(ctx)
			return err
		}()
		if last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: JetStream not ready within %s: %v\n%s", node.Name, timeout, last, node.Tail(20))
}

// URLs joins the nodes' client URLs as NATS_URL takes them.
func URLs(nodes []*NATSNode) string {
	var us []string
	for _, n := range nodes {
		us = append(us, n.URL())
	}
	return strings.Join(us, ",")
}

// Connect connects to NATS for the drill's own observations (consumer state, stream leader).
func Connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// ConsumerState is the shared consumer's backlog: messages not yet delivered, and delivered but
// not acknowledged.
func ConsumerState(ctx context.Context, js jetstream.JetStream) (pending, ackPending uint64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, queue.DefaultStream, queue.DefaultConsumer)
	if err != nil {
		return 0, 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, uint64(info.NumAckPending), nil
}

// StreamLeader names the server leading the events stream's raft group ("" while it has none).
func StreamLeader(ctx context.Context, js jetstream.JetStream) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, queue.DefaultStream)
	if err != nil {
		return "", err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil {
		return "", nil
	}
	return info.Cluster.Leader, nil
}

// DeadLetters is the number of messages in the dead-letter stream (0 when it does not exist).
func DeadLetters(ctx context.Context, js jetstream.JetStream) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, queue.DefaultDeadLetterStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// IngestEnv is the environment every drill's ingest gets: the webhook secret, and nothing else
// from the drill's own environment.
func IngestEnv() []string { return []string{"WEBHOOK_SECRETS=" + Secret} }
