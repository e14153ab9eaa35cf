package scaleout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// proc is one program running on a lab host.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *tail
}

// start runs cmd (made by the host) with its output in a bounded tail, in its own process group,
// killed if the bench dies, and adopted into the host's cgroups.
func start(h *lab.Host, name string, cmd *exec.Cmd, env []string) (*proc, error) {
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: &tail{max: 16 << 10}}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := h.Adopt(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// exited returns the process's error if it has ended, else nil.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.log)
	default:
		return nil
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// startNATS runs nats-server with JetStream on host h, listening on its own address only.
func startNATS(ctx context.Context, h *lab.Host, bin, dir string) (*proc, string, error) {
	conf := fmt.Sprintf("server_name: %s\nlisten: %s:4222\nmax_payload: 8MB\njetstream {\n  store_dir: %q\n  max_file_store: 8GB\n  max_memory_store: 64MB\n}\n",
		h.Name, h.Addr, filepath.Join(dir, "jetstream"))
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	p, err := start(h, "nats-server", h.Command(bin, "-c", path), nil)
	if err != nil {
		return nil, "", err
	}
	url := fmt.Sprintf("nats://%s:4222", h.Addr)
	return p, url, nil
}

// pgServer is a PostgreSQL cluster of the bench's own on host h.
type pgServer struct {
	*proc
	dir string
	url string // the bench database's URL, as the workers reach it
}

// postgresBin finds the machine's PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin).
func postgresBin() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(found)))
	for _, d := range append(dirs, found...) {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found: install Debian's postgresql package")
}

// startPostgres makes a new cluster (initdb) and runs its server on host h, reachable from the
// lab's subnet with trust authentication, and creates the database bench. settings are extra
// -c name=value options.
func startPostgres(ctx context.Context, h *lab.Host, subnet string, settings []string) (*pgServer, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// Under /tmp (1777), not a root-only temporary directory the postgres user cannot enter.
	dir, err := os.MkdirTemp("", "saleassist-scaleout-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(hba, "host all all %s trust\n", subnet)
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	args := []string{"-D", data, "-p", "5432", "-k", dir, "-c", "listen_addresses=" + h.Addr.String()}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	p, err := start(h, "postgres", h.CommandAs(uid, gid, filepath.Join(bin, "postgres"), args...), nil)
	if err != nil {
		return nil, err
	}
	pg := &pgServer{proc: p, dir: dir, url: fmt.Sprintf("postgres://postgres@%s:5432/bench", h.Addr)}
	admin := fmt.Sprintf("postgres://postgres@%s:5432/postgres", h.Addr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, err = conn.Exec(ctx, "CREATE DATABASE bench")
			conn.Close(ctx)
			if err != nil {
				pg.close()
				return nil, fmt.Errorf("create database bench: %w", err)
			}
			return pg, nil
		}
		if perr := p.exited(); perr != nil {
			pg.close()
			return nil, perr
		}
		if time.Now().After(deadline) {
			pg.close()
			return nil, fmt.Errorf("PostgreSQL did not answer within 60s: %v\n%s", err, p.log)
		}
		select {
		case <-ctx.Done():
			pg.close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling a server that is starting up
		}
	}
}

func (pg *pgServer) close() {
	pg.stop(10 * time.Second)
	_ = os.RemoveAll(pg.dir)
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	mu  sync.Mutex
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var _ io.Writer = (*tail)(nil)
