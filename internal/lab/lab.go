// Package lab runs the pipeline's parts as hosts on one machine: each host is a network namespace
// of its own, reached only at its own address on a bridge the lab creates, with a CPU quota and
// CPU accounting of its own (cgroup v1 cpu and cpuacct). Benches and drills use it to measure
// scale-out with each part held to its quota, as if it ran on its own small machine, and to cut
// a host off (its link taken down: the machines have no tc netem and no iptables).
//
// A lab is named by a prefix; everything it makes carries the prefix (namespaces "<prefix>-<host>",
// links "<prefix>h<n>", the bridge "<prefix>br", cgroups "<prefix>/<host>"), so that New removes
// whatever a crashed run left behind before it starts, and Close removes everything it made.
// It needs root, iproute2 and the cgroup v1 cpu and cpuacct controllers; Available says what is
// missing.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Where the cgroup v1 controllers are mounted.
var (
	cpuRoot     = "/sys/fs/cgroup/cpu"
	cpuacctRoot = "/sys/fs/cgroup/cpuacct"
)

// Period is the CFS period of every host's quota. Short, so that a host at its quota waits at
// most a few milliseconds, not the default 100 ms, each time it is throttled.
const Period = 10 * time.Millisecond

// Shares is the cpu.shares of the lab's cgroup and of every host's (the default is 1024). CFS
// weighs the lab's group with it against each other group and each process outside any (the
// machine's own, and whatever else runs on it), so a host that wants its quota gets it first: the quota is the host's small machine,
// not the share of the machine a busy neighbour leaves over. Without it, the same drain on a box
// also compiling read at half the rate, and every host's CPU per event grew with the load.
const Shares = 64 * 1024

// Available returns nil when a lab can run here, or an error saying in one line what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("the hosts lab needs root (network namespaces, cgroups)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the hosts lab needs iproute2's ip (apt-get install iproute2)")
	}
	for _, tool := range []string{"nsenter", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the hosts lab needs util-linux's %s (apt-get install util-linux)", tool)
		}
	}
	for _, f := range []string{filepath.Join(cpuRoot, "cpu.cfs_quota_us"), filepath.Join(cpuacctRoot, "cpuacct.usage")} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("the hosts lab needs the cgroup v1 cpu and cpuacct controllers under /sys/fs/cgroup (%s: %v)", f, err)
		}
	}
	return nil
}

// Lab is one set of hosts on a bridge.
type Lab struct {
	prefix string
	bridge string
	net    netip.Prefix
	gw     netip.Addr

	mu    sync.Mutex
	hosts []*Host
}

// Host is one namespace with its address, link and cgroup.
type Host struct {
	// Name is the host's name in the lab ("nats", "pg", "worker3").
	Name string
	// NS is its network namespace's name, for `ip netns exec`.
	NS string
	// Addr is its address on the lab's bridge.
	Addr netip.Addr
	// Cores is its CPU quota in cores (0.25 = a quarter of one core); 0 means no quota.
	Cores float64

	lab  *Lab
	link string // the root end of its veth pair, on the bridge
}

// New removes what an earlier lab with prefix left behind and makes a new bridge with the
// addresses of subnet (a /24 of the lab's own, such as 10.211.0.0/24; the bridge takes .1). The
// prefix is at most 6 characters of [a-z0-9], so that link names fit Linux's 15.
func New(prefix string, subnet netip.Prefix) (*Lab, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if len(prefix) == 0 || len(prefix) > 6 || strings.Trim(prefix, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return nil, fmt.Errorf("lab prefix %q: 1 to 6 characters of a-z and 0-9", prefix)
	}
	if !subnet.Addr().Is4() || subnet.Bits() != 24 {
		return nil, fmt.Errorf("lab subnet %s: an IPv4 /24", subnet)
	}
	if err := Cleanup(prefix); err != nil {
		return nil, fmt.Errorf("remove an earlier lab's leftovers: %w", err)
	}
	subnet = subnet.Masked()
	l := &Lab{prefix: prefix, bridge: prefix + "br", net: subnet, gw: subnet.Addr().Next()}
	steps := [][]string{
		{"link", "add", l.bridge, "type", "bridge"},
		{"addr", "add", l.gw.String() + "/24", "dev", l.bridge},
		{"link", "set", l.bridge, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			_ = Cleanup(prefix)
			return nil, err
		}
	}
	for _, root := range []string{cpuRoot, cpuacctRoot} {
		if err := os.Mkdir(filepath.Join(root, prefix), 0o755); err != nil && !os.IsExist(err) {
			_ = Cleanup(prefix)
			return nil, fmt.Errorf("make cgroup: %w", err)
		}
	}
	// The lab's own group is what CFS weighs against the machine's other processes (its hosts
	// only share what it gets): it carries Shares too.
	if err := write(filepath.Join(cpuRoot, prefix, "cpu.shares"), strconv.Itoa(Shares)); err != nil {
		_ = Cleanup(prefix)
		return nil, fmt.Errorf("weigh the lab's cgroup: %w", err)
	}
	return l, nil
}

// Gateway is the bridge's own address: where a host reaches the machine itself (the bench or
// drill that drives the lab).
func (l *Lab) Gateway() netip.Addr { return l.gw }

// AddHost makes host name with a quota of cores (0: none): a namespace with loopback and one
// veth link on the bridge, the next free address, and cgroups with the quota and accounting.
func (l *Lab) AddHost(name string, cores float64) (*Host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.hosts) + 1
	addr := l.gw
	for range n {
		addr = addr.Next()
	}
	if !l.net.Contains(addr) || addr == netip.AddrFrom4([4]byte{addr.As4()[0], addr.As4()[1], addr.As4()[2], 255}) {
		return nil, fmt.Errorf("lab %s: no address left for host %s", l.prefix, name)
	}
	h := &Host{Name: name, NS: l.prefix + "-" + name, Addr: addr, Cores: cores, lab: l, link: fmt.Sprintf("%sh%d", l.prefix, n)}
	peer := fmt.Sprintf("%sp%d", l.prefix, n)
	steps := [][]string{
		{"netns", "add", h.NS},
		{"link", "add", h.link, "type", "veth", "peer", "name", peer},
		{"link", "set", h.link, "master", l.bridge},
		{"link", "set", h.link, "up"},
		{"link", "set", peer, "netns", h.NS},
		{"-n", h.NS, "link", "set", peer, "name", "eth0"},
		{"-n", h.NS, "addr", "add", addr.String() + "/24", "dev", "eth0"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
		{"-n", h.NS, "link", "set", "lo", "up"},
		{"-n", h.NS, "route", "add", "default", "via", l.gw.String()},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
	}
	for _, root := range []string{cpuRoot, cpuacctRoot} {
		if err := os.Mkdir(h.cgroup(root), 0o755); err != nil {
			return nil, fmt.Errorf("host %s: make cgroup: %w", name, err)
		}
	}
	quota := "-1"
	if cores > 0 {
		quota = strconv.FormatInt(int64(cores*float64(Period.Microseconds())), 10)
	}
	if err := write(filepath.Join(h.cgroup(cpuRoot), "cpu.cfs_period_us"), strconv.FormatInt(Period.Microseconds(), 10)); err != nil {
		return nil, err
	}
	if err := write(filepath.Join(h.cgroup(cpuRoot), "cpu.cfs_quota_us"), quota); err != nil {
		return nil, err
	}
	if err := write(filepath.Join(h.cgroup(cpuRoot), "cpu.shares"), strconv.Itoa(Shares)); err != nil {
		return nil, err
	}
	l.hosts = append(l.hosts, h)
	return h, nil
}

// Hosts returns the lab's hosts in the order they were added.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// Close kills every process left in the lab's hosts and removes its namespaces, links, bridge and
// cgroups.
func (l *Lab) Close() error { return Cleanup(l.prefix) }

func (h *Host) cgroup(root string) string { return filepath.Join(root, h.lab.prefix, h.Name) }

// Command returns a command that runs name with args inside the host's namespace. Start it, then
// Adopt its pid so that it and its children run under the host's quota and accounting.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// CommandAs is Command with the program running as user uid and group gid, for programs that
// refuse to run as root (PostgreSQL): nsenter enters the namespace as root, then setpriv drops to
// them. Each execs the next, so the command's pid is the program's. The kernel clears a process's
// parent-death signal when its user changes; setpriv --pdeathsig keep sets it again, so a program
// started with one (SysProcAttr.Pdeathsig) still dies with its starter, as with Command.
func (h *Host) CommandAs(uid, gid int, name string, args ...string) *exec.Cmd {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		setpriv = "setpriv" // util-linux's; the command then fails to start, saying so
	}
	return exec.Command("nsenter", append([]string{"--net=/var/run/netns/" + h.NS, "--", setpriv,
		"--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups", "--pdeathsig=keep", "--", name}, args...)...)
}

// DialContext connects to address from inside the host's namespace, as a program on the host
// would: the connection is the host's, and stays usable from anywhere in this process. A drill
// uses it to reach a host's own address while its link is down (a sender on the host's side of a
// cut). The dial runs on an OS thread of its own that enters the namespace and is then dropped,
// never handed back to other goroutines.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		fd, err := unix.Open("/var/run/netns/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: fmt.Errorf("host %s: open its namespace: %w", h.Name, err)}
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		_ = unix.Close(fd)
		if err != nil {
			ch <- result{err: fmt.Errorf("host %s: enter its namespace: %w", h.Name, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, address)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Adopt moves process pid (and the children it starts from now on) into the host's cgroups.
func (h *Host) Adopt(pid int) error {
	for _, root := range []string{cpuRoot, cpuacctRoot} {
		if err := write(filepath.Join(h.cgroup(root), "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("host %s: adopt pid %d: %w", h.Name, pid, err)
		}
	}
	return nil
}

// CPU is the CPU time the host's processes have used since it was made (cpuacct.usage).
func (h *Host) CPU() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(h.cgroup(cpuacctRoot), "cpuacct.usage"))
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(ns), err
}

// Throttled is how often, and for how long in all, the host was held back by its quota.
func (h *Host) Throttled() (periods int64, total time.Duration, err error) {
	b, err := os.ReadFile(filepath.Join(h.cgroup(cpuRoot), "cpu.stat"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "nr_throttled":
			periods = v
		case "throttled_time":
			total = time.Duration(v)
		}
	}
	return periods, total, nil
}

// SetLink takes the host's link down (cut off from every other host) or up again.
func (h *Host) SetLink(up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ip("link", "set", h.link, state)
}

// Cleanup removes everything a lab with prefix made: it kills the processes in its namespaces and
// cgroups, then deletes the namespaces, the links, the bridge and the cgroups. It is safe to call
// when nothing is left.
func Cleanup(prefix string) error {
	var errs []error
	// Processes first: a namespace with a process in it outlives `ip netns delete`.
	nss, _ := exec.Command("ip", "netns", "list").Output()
	var mine []string
	for _, line := range strings.Split(string(nss), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			mine = append(mine, f[0])
		}
	}
	for _, ns := range mine {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		killAll(strings.Fields(string(out)))
	}
	for _, root := range []string{cpuRoot, cpuacctRoot} {
		dirs, _ := filepath.Glob(filepath.Join(root, prefix, "*", "cgroup.procs"))
		for _, f := range dirs {
			b, _ := os.ReadFile(f)
			killAll(strings.Fields(string(b)))
		}
	}
	for _, ns := range mine {
		if err := ip("netns", "delete", ns); err != nil {
			errs = append(errs, err)
		}
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(links), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, prefix+"h") || strings.HasPrefix(name, prefix+"p") || name == prefix+"br" {
			if err := ip("link", "delete", name); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
				errs = append(errs, err)
			}
		}
	}
	for _, root := range []string{cpuRoot, cpuacctRoot} {
		if err := removeCgroup(filepath.Join(root, prefix)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroup removes a cgroup and its children, waiting for killed tasks to leave them.
func removeCgroup(dir string) error {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	children, _ := filepath.Glob(filepath.Join(dir, "*", "cgroup.procs"))
	for _, c := range children {
		if err := removeCgroup(filepath.Dir(c)); err != nil {
			return err
		}
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		// A cgroup directory is removed with rmdir, its control files and all.
		if err = syscall.Rmdir(dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		killAll(strings.Fields(string(b)))
		time.Sleep(20 * time.Millisecond) // killed tasks leave the cgroup asynchronously; nothing to await on
	}
}

func killAll(pids []string) {
	for _, p := range pids {
		if pid, err := strconv.Atoi(p); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func ip(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func write(path, value string) error {
	return os.WriteFile(path, []byte(value), 0o644)
}
