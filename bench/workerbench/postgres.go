package workerbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL targets (issue 12, item 4): two one-core worker processes drain at least
// TargetTwoOverOne times as fast as one, four are no slower than two, one unlimited worker drains
// at least TargetPGOverNaive times as fast as the naive baseline, and CPU per event (workers +
// server) stays within TargetCPUFlat of the one-worker figure from 1 to 4 workers.
const (
	TargetTwoOverOne  = 1.4
	TargetPGOverNaive = 1.5
	TargetCPUFlat     = 0.20
)

// PostgresReachable connects once to the server at base and reports its version, or why it
// cannot be used; the PostgreSQL section is skipped, not failed, when it cannot.
func PostgresReachable(ctx context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close(ctx) }()
	var v string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

// freshDatabase creates an empty database with a random name on base's server (from template0,
// as testkit.FreshPostgres does, so nothing added to template1 leaks in) and returns its URL and
// how to drop it. Every drain gets its own, so no drain finds another's leads.
func freshDatabase(ctx context.Context, base string) (string, func() error, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "workerbench_" + hex.EncodeToString(b)
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(ctx) }()
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE DATABASE ` + name + ` TEMPLATE template0`); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() error {
		// WITH (FORCE): a worker killed mid-drain may leave a connection behind.
		if err := admin(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, errors.Join(err, drop())
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// pgCounter counts rows in a drain's PostgreSQL database.
type pgCounter struct {
	url  string
	conn *pgx.Conn
}

func (c *pgCounter) count(ctx context.Context, table string) (n int, err error) {
	if c.conn == nil {
		if c.conn, err = pgx.Connect(ctx, c.url); err != nil {
			return 0, err
		}
	}
	// Until the first worker has migrated, the tables do not exist: an error, and the poll tries
	// again.
	if err := c.conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

func (c *pgCounter) close() {
	if c.conn != nil {
		_ = c.conn.Close(context.Background())
	}
}

// BuildWorker builds cmd/worker once into dir and returns the binary's path.
func BuildWorker(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "worker")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/worker: %w\n%s", err, out)
	}
	return bin, nil
}

// workerProc is one cmd/worker process of a drain.
type workerProc struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // its exit, once done is closed
	stopped bool          // told to stop: its exit is no failure
}

// startProcs starts n cmd/worker processes on the NATS server at natsURL storing into db, each
// with GOMAXPROCS=maxProcs (0: Go's default, every core), their metrics on a free loopback port.
func startProcs(ctx context.Context, bin string, n, maxProcs int, natsURL, db string, logs io.Writer) (procs []*workerProc, metrics []string, err error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if maxProcs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(maxProcs))
	}
	for range n {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return procs, metrics, err
		}
		// Only the flags: the environment is cleared so that no DATABASE_URL or NATS_URL of the
		// shell running the benchmark reaches the workers.
		cmd := exec.CommandContext(ctx, bin, "-nats-url", natsURL, "-db", db, "-addr", addr)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		// The worker dies with the benchmark, so an interrupted run leaves nothing behind.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 15 * time.Second
		if err := cmd.Start(); err != nil {
			return procs, metrics, fmt.Errorf("start %s: %w", bin, err)
		}
		p := &workerProc{cmd: cmd, done: make(chan struct{})}
		go func() { p.err = cmd.Wait(); close(p.done) }()
		procs = append(procs, p)
		metrics = append(metrics, "http://"+addr+"/metrics")
	}
	return procs, metrics, nil
}

// stopProcs asks every process to stop (SIGTERM: the batch in flight commits first), waits up to
// 15 s, then kills what is left.
func stopProcs(procs []*workerProc) error {
	var errs []error
	for _, p := range procs {
		select {
		case <-p.done:
			continue
		default:
		}
		p.stopped = true
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("worker %d did not stop within 15 s of SIGTERM", p.cmd.Process.Pid))
			continue
		}
		if p.err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", p.cmd.Process.Pid, p.err))
		}
	}
	return errors.Join(errs...)
}

// procsFailed reports a process that exited before it was told to.
func procsFailed(procs []*workerProc) error {
	for _, p := range procs {
		if p.stopped {
			continue
		}
		select {
		case <-p.done:
			return fmt.Errorf("worker %d exited on its own: %v", p.cmd.Process.Pid, p.err)
		default:
		}
	}
	return nil
}

// freeLoopbackAddr returns a loopback address nothing listens on right now, for a worker's
// metrics (the process cannot tell us which port it picked for 127.0.0.1:0).
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// clockTick is the unit of /proc/<pid>/stat times: USER_HZ, 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// pidCPU is the CPU time (utime + stime, plus cutime + cstime: a postmaster's reaped backends) of
// one process from /proc/<pid>/stat; 0 if it is gone or unreadable.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// comm may contain spaces and parentheses: the fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime, stime, cutime, cstime are fields 14–17.
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[k], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * clockTick
}

// Postmaster finds the local PostgreSQL server behind base: the parent of a backend it opens
// (pg_backend_pid), when /proc shows it as a "postgres" process on this machine; 0 otherwise
// (a remote server, whose CPU time this benchmark cannot see).
func Postmaster(ctx context.Context, base string) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return 0
	}
	defer func() { _ = conn.Close(ctx) }()
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0
	}
	ppid := procField(backend, 1)
	if comm, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/comm"); ppid <= 1 || err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return 0
	}
	return ppid
}

// procField is field 4+i of /proc/<pid>/stat as an integer (i=1: the parent's pid); 0 if unreadable.
func procField(pid, i int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	if j < 0 {
		return 0
	}
	f := strings.Fields(s[j+1:])
	if len(f) <= i {
		return 0
	}
	v, _ := strconv.Atoi(f[i])
	return v
}

// serverCPU is the CPU time used so far by the PostgreSQL server whose postmaster is pid: the
// postmaster (its cutime and cstime hold the backends that have exited) and its children
// (backends and helpers). Only that server's processes: other clusters on the machine (a drill's,
// another engineer's) come and go and would make the difference meaningless. Zero for pid 0.
func serverCPU(postmaster int) time.Duration {
	if postmaster == 0 {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	sum := pidCPU(postmaster)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if procField(pid, 1) == postmaster {
			sum += pidCPU(pid)
		}
	}
	return sum
}

// procsCPU is the CPU time used so far by the worker processes.
func procsCPU(procs []*workerProc) time.Duration {
	var sum time.Duration
	for _, p := range procs {
		sum += pidCPU(p.cmd.Process.Pid)
	}
	return sum
}
