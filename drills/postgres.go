package drills

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// PostgresInstall is what a drill that needs PostgreSQL says when its binaries are missing.
const PostgresInstall = "PostgreSQL binaries (initdb, postgres) not found: install Debian's postgresql package (apt-get install postgresql), or put pg_config on PATH"

// Postgres is a throwaway PostgreSQL server of the drill's own: a new cluster (initdb) in a
// temporary directory, on a free loopback port, with trust authentication, so that the drill may
// SIGKILL it and start it again. The postmaster runs in the foreground as a child of the drill
// (StartAs), rather than daemonized by pg_ctl, so that it dies with the drill however the drill
// ends; its backends notice their postmaster's death and exit on their own, and Stop and the
// test's cleanup also kill any that linger.
type Postgres struct {
	*Proc
	Port int
	// Dir holds the cluster (Dir/data) and the Unix socket; the postgres user owns it.
	Dir string
	// Host is the lab host it runs on (nil: loopback).
	Host *lab.Host
}

// Database is the database the drill's workers share.
const Database = "drill"

// PostgresBin finds the directory of the machine's PostgreSQL server binaries: pg_config
// --bindir, or else the newest /usr/lib/postgresql/*/bin (Debian installs pg_config only with
// the development package). Missing, the drill fails under CI=true, where it must run, and skips
// elsewhere with a line saying what to install.
func PostgresBin(t testing.TB) string {
	t.Helper()
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true: " + PostgresInstall)
	}
	t.Skip(PostgresInstall)
	return ""
}

// pgVersion is the major version in a /usr/lib/postgresql/N/bin path (0 if none).
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// postgresUser is the user the server runs as: initdb and postgres refuse to run as root, so a
// drill run by root runs them as the postgres user (Debian's package creates it); any other user
// runs them as itself.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the drill runs as root and needs a postgres user to run PostgreSQL as: %v", err)
		}
		t.Skipf("the drill runs as root and there is no postgres user to run PostgreSQL as (%v): install Debian's postgresql package", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// StartPostgres makes a new cluster and starts its server, waits until it answers, and creates
// the database Database. The server is stopped and its directory removed when t ends.
func StartPostgres(t testing.TB, ps *Procs) *Postgres {
	t.Helper()
	return StartPostgresOn(t, ps, nil)
}

// StartPostgresOn is StartPostgres with the server on lab host h (nil: loopback): on port 5432
// of the host's address only, trusting clients of the lab's subnet (a pg_hba.conf line), which
// is where the workers and the drill reach it from.
func StartPostgresOn(t testing.TB, ps *Procs, h *lab.Host) *Postgres {
	t.Helper()
	bin := PostgresBin(t)
	cred := postgresUser(t)
	// Not under t.TempDir(): its parents are 0700 and root's, which the postgres user cannot
	// traverse. os.MkdirTemp makes it directly under /tmp (1777), and it is handed to the user.
	dir, err := os.MkdirTemp("", "saleassist-drill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	pg := &Postgres{Port: FreePort(t), Dir: dir, Host: h}
	if h != nil {
		pg.Port = 5432 // the host's own address: nothing else listens there
	}
	t.Cleanup(func() {
		pg.stop(t)
		_ = os.RemoveAll(dir)
	})

	// --no-sync: initdb's own fsyncs only matter for a power loss, which no drill makes; the
	// server itself runs with PostgreSQL's defaults (fsync on, synchronous_commit on).
	initdb := ps.StartAs("initdb", cred, filepath.Join(bin, "initdb"), nil,
		"-D", pg.data(), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err := initdb.Wait(t, 2*time.Minute); err != nil {
		t.Fatalf("initdb: %v\n%s", err, initdb.Tail(30))
	}
	if h != nil {
		hba := fmt.Sprintf("host all all %s trust\n", netip.PrefixFrom(h.Addr, 24).Masked())
		f, err := os.OpenFile(filepath.Join(pg.data(), "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(hba)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatalf("trust the lab's subnet in pg_hba.conf: %v", err)
		}
	}
	pg.Proc = ps.StartOn(h, "postgres", cred, filepath.Join(bin, "postgres"), nil,
		"-D", pg.data(), "-p", strconv.Itoa(pg.Port), "-k", dir, "-c", "listen_addresses="+pg.addr())
	pg.AwaitReady(t, 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.url("postgres"))
	if err != nil {
		t.Fatalf("connect to the drill's PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+Database); err != nil {
		t.Fatalf("create database %s: %v", Database, err)
	}
	return pg
}

func (pg *Postgres) data() string { return filepath.Join(pg.Dir, "data") }

// addr is the address the server listens on: its host's, or loopback.
func (pg *Postgres) addr() string {
	if pg.Host != nil {
		return pg.Host.Addr.String()
	}
	return "127.0.0.1"
}

func (pg *Postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", pg.addr(), pg.Port, db)
}

// URL is the drill database's URL, as DATABASE_URL takes it (loopback, no password: trust).
func (pg *Postgres) URL() string { return pg.url(Database) }

// AwaitReady waits until the server accepts a connection and answers a query: after a start, or
// after a crash once its recovery (WAL replay) is done.
func (pg *Postgres) AwaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if !pg.Running() {
			t.Fatalf("postgres exited: %s", pg.Tail(30))
		}
		last = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, pg.url("postgres"))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "SELECT 1")
			return err
		}()
		if last == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("postgres not ready within %s: %v\n%s", timeout, last, pg.Tail(30))
}

// Postmaster reads the server's process id from postmaster.pid, as an operator's kill -9 would.
func (pg *Postgres) Postmaster(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.data(), "postmaster.pid"))
	if err != nil {
		t.Fatalf("read postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %q is no pid", first)
	}
	return pid
}

// Crash SIGKILLs the postmaster (the pid in postmaster.pid) and waits until it and every
// process it had started (backends, checkpointer, WAL writer …) are gone: they notice their
// postmaster's death and exit, and until they have, a new server refuses to start on their
// shared memory. It returns how many there were.
func (pg *Postgres) Crash(t testing.TB) int {
	t.Helper()
	pid := pg.Postmaster(t)
	if pid != pg.Pid() {
		t.Fatalf("postmaster.pid names %d, the drill started %d", pid, pg.Pid())
	}
	// Stopped first, so that it cannot start a backend between the listing and the kill: one
	// missed would hold the shared memory and keep the server from starting again.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("kill -STOP %d: %v", pid, err)
	}
	children := childrenOf(pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	if err := pg.Wait(t, 10*time.Second); err == nil {
		t.Fatalf("postgres exited with status 0 after SIGKILL")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []string
		for _, c := range children {
			if c.alive() {
				left = append(left, c.String())
			}
		}
		if len(left) == 0 {
			return len(children)
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres processes still running 20s after their postmaster was killed: %s", strings.Join(left, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Start starts the server again on the same port and cluster, after Crash, and waits until it
// has recovered and answers.
func (pg *Postgres) Start(t testing.TB) {
	t.Helper()
	pg.Restart(t)
	pg.AwaitReady(t, 60*time.Second)
}

// LastRun returns the lines of the server's log since its last start that contain any of subs:
// what it said about its crash recovery, for instance.
func (pg *Postgres) LastRun(subs ...string) []string {
	log := pg.Log()
	if i := strings.LastIndex(log, "==== "); i >= 0 {
		log = log[i:]
	}
	var out []string
	for line := range strings.Lines(log) {
		for _, s := range subs {
			if strings.Contains(line, s) {
				out = append(out, strings.TrimRight(line, "\n"))
				break
			}
		}
	}
	return out
}

// stop is the test's cleanup: an immediate shutdown (SIGQUIT, what pg_ctl stop -m immediate
// sends: the postmaster makes every child quit at once, and exits), then SIGKILL for the
// postmaster and any of its processes still there after 10 s.
func (pg *Postgres) stop(t testing.TB) {
	if pg.Proc == nil || !pg.Running() {
		return
	}
	children := childrenOf(pg.Pid())
	_ = syscall.Kill(pg.Pid(), syscall.SIGQUIT)
	pg.mu.Lock()
	done := pg.done
	pg.mu.Unlock()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(pg.Pid(), syscall.SIGKILL)
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range children {
		for c.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if c.alive() {
			t.Logf("postgres child %s still running after its postmaster exited: SIGKILL", c)
			c.kill()
		}
	}
}

// proc is a process known by its pid and its start time, so that a pid reused by another
// process is never mistaken for it.
type proc struct {
	pid   int
	start string
	comm  string
}

func (p proc) String() string { return fmt.Sprintf("%d (%s)", p.pid, p.comm) }

// alive reports whether the process still runs (and is not a zombie).
func (p proc) alive() bool {
	s, ok := readStat(p.pid)
	return ok && s.start == p.start && s.state != "Z"
}

func (p proc) kill() {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

type stat struct {
	comm, state, start string
	ppid               int
}

// readStat reads /proc/pid/stat: the command, state, parent and start time.
func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, false
	}
	// After the command: state, ppid, pgrp, … starttime is the 20th field after it.
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return stat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return stat{comm: s[open+1 : end], state: f[0], ppid: ppid, start: f[19]}, true
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []proc
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := readStat(n); ok && s.ppid == pid {
			out = append(out, proc{pid: n, start: s.start, comm: s.comm})
		}
	}
	return out
}
