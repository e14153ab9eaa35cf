package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// moduleRoot finds the directory of this repository's go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/saleassist-pipeline/pipeline\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the github.com/saleassist-pipeline/pipeline module")
		}
		dir = parent
	}
}

// build compiles pkg (relative to root) into dir and returns the binary's path.
func build(ctx context.Context, root, dir, pkg, name string) (string, error) {
	gobin := "go"
	if g := os.Getenv("GO"); g != "" {
		gobin = g
	}
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv is the environment without any setting of the pipeline's, so that a developer's shell
// cannot change what is measured; the harness adds what it wants.
func cleanEnv(extra ...string) []string {
	prefixes := []string{"INGEST_", "NATS_URL=", "DATA_DIR=", "MAX_BODY_BYTES=", "WEBHOOK_", "PPROF_ADDR=",
		"EMBEDDED_NATS_ADDR=", "QUARANTINE_", "PUBLISH_TIMEOUT=", "STREAM_", "JETSTREAM_", "DEFAULT_PHONE_REGION=",
		"WORKER_", "MAPPING_FILE=", "TRUSTED_PROXY_CIDRS=", "DATABASE_URL="}
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// proc is a server under test.
type proc struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	done    chan struct{}
	err     error

	mu      sync.Mutex
	samples []rssSample
	stopRSS chan struct{}
	rssDone chan struct{}
}

type rssSample struct {
	at       time.Time
	rss, hwm int64 // bytes
}

// start runs bin with args and env, logging to logDir/name.log, and waits until health answers 200.
func start(name, bin string, args, env []string, port int, health, logDir string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: logPath,
		done: make(chan struct{}), stopRSS: make(chan struct{}), rssDone: make(chan struct{})}
	go func() { p.err = cmd.Wait(); lf.Close(); close(p.done) }()
	go p.sampleRSS(200 * time.Millisecond)
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during start-up (%v); log %s:\n%s", name, p.err, logPath, tail(logPath))
		default:
		}
		if resp, err := client.Get(p.base + health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: %s not 200 within 60s; log %s:\n%s", name, health, logPath, tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) sampleRSS(every time.Duration) {
	defer close(p.rssDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if rss, hwm, err := readRSS(p.cmd.Process.Pid); err == nil {
			p.mu.Lock()
			p.samples = append(p.samples, rssSample{time.Now(), rss, hwm})
			p.mu.Unlock()
		}
		select {
		case <-t.C:
		case <-p.stopRSS:
			return
		case <-p.done:
			return
		}
	}
}

// rss reports the peak (VmHWM, latest reading), the RSS at the first sample at or after from,
// and the RSS of the last sample.
func (p *proc) rss(from time.Time) (peak, atFrom, last int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.samples {
		if atFrom == 0 && !s.at.Before(from) {
			atFrom = s.rss
		}
		peak, last = s.hwm, s.rss
	}
	return peak, atFrom, last
}

// readRSS reads VmRSS and VmHWM (bytes) from /proc/<pid>/status.
func readRSS(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
	}
	return rss, hwm, sc.Err()
}

// stop sends SIGTERM and waits up to 15 s, then kills. It reports an unclean exit.
func (p *proc) stop() error {
	select {
	case <-p.stopRSS:
	default:
		close(p.stopRSS)
	}
	<-p.rssDone
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within 15s of SIGTERM; killed", p.name)
	}
	var ee *exec.ExitError
	if p.err != nil && !(errors.As(p.err, &ee) && ee.ExitCode() == 0) {
		return fmt.Errorf("%s exited: %v (log %s)", p.name, p.err, p.logPath)
	}
	return nil
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
