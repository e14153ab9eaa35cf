package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// workerBuild is the cmd/worker binary shared by the tests running at the same time: built by the
// first test that needs it, removed when the last of them ends.
var workerBuild struct {
	mu   sync.Mutex
	refs int
	dir  string
	bin  string
}

// workerBinary returns the path of a freshly built cmd/worker, building it once for all tests
// that hold it at the same time. It skips the test when no go tool is on PATH.
func workerBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH: cannot build cmd/worker")
	}
	workerBuild.mu.Lock()
	defer workerBuild.mu.Unlock()
	if workerBuild.refs == 0 {
		dir, err := os.MkdirTemp("", "saleassist-worker-bin-")
		require.NoError(t, err)
		bin := filepath.Join(dir, "worker")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin,
			"github.com/saleassist-pipeline/pipeline/cmd/worker").CombinedOutput()
		if err != nil {
			_ = os.RemoveAll(dir)
			require.NoError(t, err, "go build ./cmd/worker:\n%s", out)
		}
		t.Logf("built cmd/worker in %s", time.Since(start).Round(time.Millisecond))
		workerBuild.dir, workerBuild.bin = dir, bin
	}
	workerBuild.refs++
	bin := workerBuild.bin
	t.Cleanup(func() {
		workerBuild.mu.Lock()
		defer workerBuild.mu.Unlock()
		if workerBuild.refs--; workerBuild.refs == 0 {
			_ = os.RemoveAll(workerBuild.dir)
			workerBuild.dir, workerBuild.bin = "", ""
		}
	})
	return bin
}

// workerProc is one cmd/worker process.
type workerProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *testkit.SyncBuffer
	// addr is the metrics address the worker logged when it started.
	addr string
	// done is closed when the process has exited; waitErr is then its exit status.
	done    chan struct{}
	waitErr error
}

// startWorkerProc runs bin (cmd/worker) with args and an empty environment, so that only the
// flags configure it, and waits until it logs that it started. The process is killed when ctx
// ends; at the end of the test it is stopped with SIGTERM (killed if it does not exit), and its
// log is shown if the test failed.
func startWorkerProc(ctx context.Context, t *testing.T, name, bin string, args ...string) *workerProc {
	t.Helper()
	p := &workerProc{name: name, stderr: &testkit.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Env = []string{}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	require.NoError(t, p.cmd.Start())
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s (pid %d) exited with %v; its log:\n%s", p.name, p.cmd.Process.Pid, p.waitErr, p.stderr)
		}
	})

	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for p.addr == "" {
		select {
		case <-p.done:
			require.FailNow(t, "worker exited before it started", "%s: %v\n%s", name, p.waitErr, p.stderr)
		case <-deadline:
			require.FailNow(t, "worker did not log that it started", "%s:\n%s", name, p.stderr)
		case <-tick.C:
			p.addr = startedAddr(p.stderr.String())
		}
	}
	return p
}

// startedAddr finds the address in the worker's JSON log line {"msg":"started","addr":…}.
func startedAddr(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "started" && line.Addr != "" {
			return line.Addr
		}
	}
	return ""
}

func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// url is the base URL of the worker's /metrics, /healthz and /readyz.
func (p *workerProc) url() string { return "http://" + p.addr }

// kill sends SIGKILL, as a crash or the OOM killer would, and waits for the process to be gone.
func (p *workerProc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
	var exit *exec.ExitError
	require.ErrorAs(t, p.waitErr, &exit)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s: %v", p.name, p.waitErr)
}

// stop sends SIGTERM and requires an orderly exit (status 0) within the shutdown bound.
func (p *workerProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		require.Fail(t, "worker did not stop within 30s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	require.NoError(t, p.waitErr, "%s exit status; log:\n%s", p.name, p.stderr)
}
