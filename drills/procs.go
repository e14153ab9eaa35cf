package drills

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// spawn starts every child process from one goroutine locked to its own OS thread, which never
// exits. The children get Pdeathsig SIGKILL, which Linux delivers when the thread that forked
// them ends: with a dedicated thread that is exactly when the drill process dies, however it dies
// (a test timeout's panic, a SIGKILL of the runner), so nothing outlives it.
var spawn = sync.OnceValue(func() chan<- spawnReq {
	ch := make(chan spawnReq)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		for r := range ch {
			r.done <- r.cmd.Start()
		}
	}()
	return ch
})

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// Proc is one child process: a real cmd/ingest, cmd/worker or nats-server.
type Proc struct {
	Name string
	bin  string
	args []string
	env  []string
	cred *syscall.Credential // nil: the drill's own user
	log  string              // path of the file holding its stdout and stderr, across restarts
	host *lab.Host           // the lab host it runs on; nil: the drill's own machine (loopback)

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	stopped bool // SIGSTOPped
}

// Procs owns the child processes of one drill and kills whatever still runs when it ends.
type Procs struct {
	t   testing.TB
	dir string
	mu  sync.Mutex
	all []*Proc
}

// NewProcs returns a Procs whose processes log into dir; they are all killed when t ends.
func NewProcs(t testing.TB, dir string) *Procs {
	ps := &Procs{t: t, dir: dir}
	t.Cleanup(ps.killAll)
	return ps
}

// Named returns the process started as name (nil if none).
func (ps *Procs) Named(name string) *Proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.all {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Start runs bin with args and exactly env (nothing is inherited) in its own process group.
func (ps *Procs) Start(name, bin string, env []string, args ...string) *Proc {
	ps.t.Helper()
	return ps.StartAs(name, nil, bin, env, args...)
}

// StartAs is Start with the process running as cred's user (nil: the drill's own), for programs
// that refuse to run as root (PostgreSQL). The credentials are set in the child before exec and
// before its parent-death signal, which a change of user would otherwise clear, so it still dies
// with the drill.
func (ps *Procs) StartAs(name string, cred *syscall.Credential, bin string, env []string, args ...string) *Proc {
	ps.t.Helper()
	return ps.StartOn(nil, name, cred, bin, env, args...)
}

// StartOn is StartAs with the process running on lab host h (nil: on the drill's own machine):
// in the host's network namespace (lab.Host.Command, or CommandAs with cred) and adopted into its
// cgroups; restarts run there too. It still dies with the drill (the wrappers exec it, keeping
// its pid and parent-death signal).
func (ps *Procs) StartOn(h *lab.Host, name string, cred *syscall.Credential, bin string, env []string, args ...string) *Proc {
	ps.t.Helper()
	p := &Proc{Name: name, bin: bin, args: args, env: env, cred: cred, log: filepath.Join(ps.dir, name+".log"), host: h}
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	if err := p.start(); err != nil {
		ps.t.Fatalf("start %s: %v", name, err)
	}
	return p
}

func (p *Proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own copy
	fmt.Fprintf(f, "==== %s start %s %s\n", time.Now().Format(time.RFC3339Nano), filepath.Base(p.bin), strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	switch {
	case p.host != nil && p.cred != nil:
		cmd = p.host.CommandAs(int(p.cred.Uid), int(p.cred.Gid), p.bin, p.args...)
		attr.Credential = nil // the wrappers enter the namespace as root, then drop to cred
	case p.host != nil:
		cmd = p.host.Command(p.bin, p.args...)
	}
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = attr
	req := spawnReq{cmd: cmd, done: make(chan error)}
	spawn() <- req
	if err := <-req.done; err != nil {
		return err
	}
	if p.host != nil {
		if err := p.host.Adopt(cmd.Process.Pid); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return err
		}
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.waitErr, p.stopped = cmd, done, nil, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Restart starts the process again with the same binary, arguments and environment. It must
// have exited.
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	if p.Running() {
		t.Fatalf("restart %s: still running", p.Name)
	}
	if err := p.start(); err != nil {
		t.Fatalf("restart %s: %v", p.Name, err)
	}
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Pid is the process id of the current run.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// signal sends sig to the process group.
func (p *Proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sig == syscall.SIGSTOP {
		p.stopped = true
	}
	if sig == syscall.SIGCONT {
		p.stopped = false
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Signal sends sig (to the process group).
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.signal(sig); err != nil {
		t.Fatalf("%s: send %v: %v", p.Name, sig, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit status (nil: status 0).
func (p *Proc) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("%s (pid %d) did not exit within %s", p.Name, p.Pid(), timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits until the process is gone.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGKILL)
	err := p.Wait(t, 10*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("%s: exit after SIGKILL: %v", p.Name, err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s: exit after SIGKILL: %v", p.Name, err)
	}
}

// Term sends SIGTERM and requires an orderly exit (status 0) within timeout.
func (p *Proc) Term(t testing.TB, timeout time.Duration) {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	if err := p.Wait(t, timeout); err != nil {
		t.Fatalf("%s: exit status after SIGTERM: %v; log tail:\n%s", p.Name, err, p.Tail(30))
	}
}

// Log returns everything the process wrote, across restarts.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Tail returns the last n lines of the log.
func (p *Proc) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Started waits up to timeout for the current run to log {"msg":"started","addr":…} (the
// ingest's and worker's JSON log line) and returns the address.
func (p *Proc) Started(t testing.TB, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if addr := startedAddr(p.Log()); addr != "" {
			return addr
		}
		if !p.Running() {
			t.Fatalf("%s exited before it started: %v\n%s", p.Name, p.waitErr, p.Tail(30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start within %s:\n%s", p.Name, timeout, p.Tail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startedAddr finds the address in the last run's {"msg":"started","addr":…} line.
func startedAddr(log string) string {
	if i := strings.LastIndex(log, "==== "); i >= 0 {
		log = log[i:]
	}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"started"`)) {
			continue
		}
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == "started" && l.Addr != "" {
			return l.Addr
		}
	}
	return ""
}

// killAll kills every process still running (continuing stopped ones first, so that they can
// die), and shows the log tails when the drill failed.
func (ps *Procs) killAll() {
	ps.mu.Lock()
	all := ps.all
	ps.mu.Unlock()
	for _, p := range all {
		if !p.Running() {
			continue
		}
		_ = p.signal(syscall.SIGCONT)
		_ = p.signal(syscall.SIGKILL)
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			ps.t.Errorf("%s (pid %d) still running 10s after SIGKILL", p.Name, p.Pid())
		}
	}
	if ps.t.Failed() {
		for _, p := range all {
			ps.t.Logf("---- %s: last lines of its log\n%s", p.Name, p.Tail(25))
		}
	}
}
