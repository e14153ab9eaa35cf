package lab_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// The main goroutine keeps the process's first thread to itself, so that a test goroutine that
// ends locked to its thread ends that thread: Go cannot end the first one, and parks it instead
// (TestCommandAsKeepsTheParentDeathSignal needs the thread to end).
func init() { runtime.LockOSThread() }

// newLab makes a lab for one test, or skips saying why (fails under CI=true, where it must run).
func newLab(t *testing.T, prefix string, third byte) *lab.Lab {
	t.Helper()
	if err := lab.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skipf("%v; run the tests as root on a machine with cgroup v1 cpu and cpuacct to include the lab", err)
	}
	l, err := lab.New(prefix, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 211, third, 0}), 24))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// inNS runs f on an OS thread that has entered h's network namespace; the thread is dropped
// afterwards (never handed back to other goroutines), so the namespace does not leak.
func inNS[T any](t *testing.T, h *lab.Host, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with this goroutine
		fd, err := syscall.Open("/var/run/netns/"+h.NS, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer syscall.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		v, err := f()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

func dialFrom(t *testing.T, h *lab.Host, addr string) error {
	_, err := inNS(t, h, func() (struct{}, error) {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return struct{}{}, err
	})
	return err
}

// Hosts reach each other at their own addresses only, the machine reaches them through the
// bridge, a host's loopback is its own, and a link taken down cuts the host off until it is up.
func TestHostsAreReachedAtTheirAddressesOnly(t *testing.T) {
	l := newLab(t, "labt1", 251)
	a, err := l.AddHost("a", 0)
	require.NoError(t, err)
	b, err := l.AddHost("b", 0)
	require.NoError(t, err)
	require.NotEqual(t, a.Addr, b.Addr)

	ln, err := inNS(t, a, func() (net.Listener, error) { return net.Listen("tcp", ":0") })
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	at := netip.AddrPortFrom(a.Addr, uint16(port)).String()

	require.NoError(t, dialFrom(t, b, at), "b reaches a at its address")
	c, err := net.DialTimeout("tcp", at, time.Second)
	require.NoError(t, err, "the machine reaches a through the bridge")
	c.Close()
	require.Error(t, dialFrom(t, b, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()),
		"b's loopback is its own: no shortcut to a")

	require.NoError(t, a.SetLink(false))
	require.Error(t, dialFrom(t, b, at), "a is cut off")
	require.NoError(t, a.SetLink(true))
	require.Eventually(t, func() bool { return dialFrom(t, b, at) == nil }, 5*time.Second, 50*time.Millisecond, "a is back")
}

// busyShare runs a busy loop on h for a second and returns the share of a core it used, as h's
// accounting counted it.
func busyShare(t *testing.T, h *lab.Host) float64 {
	t.Helper()
	cmd := h.Command("sh", "-c", "while :; do :; done")
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	require.NoError(t, h.Adopt(cmd.Process.Pid))
	before, err := h.CPU()
	require.NoError(t, err)
	t0 := time.Now()
	<-time.After(time.Second) // a measured interval: the CPU used over it is the result
	used, err := h.CPU()
	require.NoError(t, err)
	return (used - before).Seconds() / time.Since(t0).Seconds()
}

// A host never uses more CPU than its quota, and its accounting counts what it used.
func TestHostIsHeldToItsQuota(t *testing.T) {
	l := newLab(t, "labt2", 252)
	h, err := l.AddHost("busy", 0.2)
	require.NoError(t, err)
	share := busyShare(t, h)
	t.Logf("a busy loop on a 0.2-core host used %.3f of a core", share)
	require.LessOrEqual(t, share, 0.2*1.15, "above the quota")
	require.Greater(t, share, 0.02, "the accounting saw nothing")
	periods, _, err := h.Throttled()
	require.NoError(t, err)
	require.Positive(t, periods, "a busy loop under a quota is throttled")
}

// A host gets its quota first when the machine is busy with other work (Shares): a busy loop on
// a 0.5-core host beside busy loops outside the lab, four per core, still runs about half a
// core. At the default weight it would get a ninth of the cores (0.22 on two).
func TestHostGetsItsQuotaOnABusyMachine(t *testing.T) {
	l := newLab(t, "labt6", 248)
	h, err := l.AddHost("busy", 0.5)
	require.NoError(t, err)
	var loops []*exec.Cmd
	defer func() {
		for _, c := range loops {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	for range 4 * runtime.NumCPU() {
		c := exec.Command("sh", "-c", "while :; do :; done")
		require.NoError(t, c.Start())
		loops = append(loops, c)
	}
	share := busyShare(t, h)
	t.Logf("a busy loop on a 0.5-core host beside %d busy loops used %.3f of a core", len(loops), share)
	require.Greater(t, share, 0.4, "the host did not get its quota on a busy machine")
}

// A lab left behind by a crashed run (never closed) is removed by the next New with its prefix,
// processes and all, and Close leaves no namespace, link or cgroup.
func TestLeftoversAreRemoved(t *testing.T) {
	if err := lab.Available(); err != nil {
		newLab(t, "labt3", 253) // skips or fails with the reason
	}
	old, err := lab.New("labt3", netip.MustParsePrefix("10.211.253.0/24"))
	require.NoError(t, err)
	h, err := old.AddHost("left", 0.1)
	require.NoError(t, err)
	cmd := h.Command("sleep", "600")
	require.NoError(t, cmd.Start())
	require.NoError(t, h.Adopt(cmd.Process.Pid))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	l, err := lab.New("labt3", netip.MustParsePrefix("10.211.253.0/24")) // as the next run would
	require.NoError(t, err)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the left-behind process still runs")
	}
	require.NotContains(t, listNS(t), "labt3-left")
	_, err = l.AddHost("left", 0.1) // the same names are free again
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NotContains(t, listNS(t), "labt3-")
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	require.NoError(t, err)
	require.NotContains(t, string(links), "labt3")
	for _, d := range []string{"/sys/fs/cgroup/cpu/labt3", "/sys/fs/cgroup/cpuacct/labt3"} {
		_, err := os.Stat(d)
		require.True(t, errors.Is(err, os.ErrNotExist), "%s is left", d)
	}
}

func listNS(t *testing.T) string {
	out, err := exec.CommandContext(context.Background(), "ip", "netns", "list").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// A program run as another user on a host (CommandAs, as PostgreSQL is) runs in the host's
// namespace as that user, and still dies with the thread that started it when that thread ends
// (Pdeathsig), although the kernel clears the signal when the user changes.
func TestCommandAsKeepsTheParentDeathSignal(t *testing.T) {
	l := newLab(t, "labt4", 250)
	h, err := l.AddHost("as", 0)
	require.NoError(t, err)
	const nobody = 65534
	cmd := h.CommandAs(nobody, nobody, "sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error)
	end := make(chan struct{})
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with this goroutine, the child's parent
		started <- cmd.Start()
		<-end
	}()
	require.NoError(t, <-started)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Until the child has become sleep, it could die of the signal before setpriv dropped it.
	require.Eventually(t, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return err == nil && strings.TrimSpace(string(b)) == "sleep"
	}, 10*time.Second, 10*time.Millisecond, "the command never became sleep")
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$`, string(status), "runs as the user")
	require.Regexp(t, `(?m)^Gid:\s+65534\s+65534\s+65534\s+65534$`, string(status), "runs as the group")
	require.Regexp(t, `(?m)^Groups:\s*$`, string(status), "no supplementary group of root's is kept")
	var inHost, inChild unix.Stat_t
	require.NoError(t, unix.Stat("/var/run/netns/"+h.NS, &inHost))
	require.NoError(t, unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &inChild))
	require.Equal(t, inHost.Ino, inChild.Ino, "runs in the host's namespace")

	close(end) // the starting thread ends
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the program outlived the thread that started it: its parent-death signal was lost")
	}
}

// DialContext reaches a host's own address from inside its namespace, also while its link is
// down and the machine cannot reach it; the connection then works from any goroutine.
func TestDialContextReachesACutOffHost(t *testing.T) {
	l := newLab(t, "labt5", 249)
	a, err := l.AddHost("a", 0)
	require.NoError(t, err)
	ln, err := inNS(t, a, func() (net.Listener, error) { return net.Listen("tcp", a.Addr.String()+":0") })
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	at := ln.Addr().String()

	require.NoError(t, a.SetLink(false))
	_, err = net.DialTimeout("tcp", at, 300*time.Millisecond)
	require.Error(t, err, "the machine does not reach a cut-off host")
	c, err := a.DialContext(context.Background(), "tcp", at)
	require.NoError(t, err, "from inside the host, its own address answers")
	defer c.Close()
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))

	_, err = net.DialTimeout("tcp", at, 300*time.Millisecond)
	require.Error(t, err, "DialContext left this process's threads in the host's namespace")
}
