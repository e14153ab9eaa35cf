package ratelog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newFailing(buf *bytes.Buffer, clk *fakeClock) *Failing {
	return &Failing{
		Log:   slog.New(slog.NewTextHandler(buf, nil)),
		Every: 10 * time.Second,
		now:   clk.now,
	}
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// A long run of failures, one per millisecond for ten minutes, gives one line at the start, one
// summary per interval and one recovery line: not 600,000.
func TestLongOutageLogsAFewLines(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	f := newFailing(&buf, clk)
	boom := errors.New("connection refused")
	for i := 0; i < 600_000; i++ {
		f.Fail("store unavailable", boom, "reason", "connection")
		clk.t = clk.t.Add(time.Millisecond)
	}
	if f.LastError() != "connection refused" {
		t.Fatalf("LastError = %q", f.LastError())
	}
	if !f.OK("store back, resuming") {
		t.Fatal("OK after a run of failures logged nothing")
	}
	got := lines(&buf)
	// 1 first line + one summary every 10 s over 600 s (59 or 60) + 1 recovery line.
	if len(got) < 60 || len(got) > 62 {
		t.Fatalf("%d lines for a 10-minute outage, want about 62:\n%s", len(got), strings.Join(got[:5], "\n"))
	}
	if !strings.Contains(got[0], "store unavailable") || strings.Contains(got[0], "still failing") {
		t.Errorf("first line = %s", got[0])
	}
	if !strings.Contains(got[1], "still failing") || !strings.Contains(got[1], "since_last_line=") {
		t.Errorf("summary line = %s", got[1])
	}
	last := got[len(got)-1]
	if !strings.Contains(last, "store back") || !strings.Contains(last, "after=10m0s") || !strings.Contains(last, "failures=600000") {
		t.Errorf("recovery line = %s", last)
	}
	if _, failing := f.Since(); failing {
		t.Error("still failing after OK")
	}
}

// OK without a preceding failure is silent; a new run after recovery starts with a fresh first line.
func TestOKWhenHealthyIsSilentAndRunsRestart(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	f := newFailing(&buf, clk)
	if f.OK("recovered") {
		t.Fatal("OK while healthy logged a line")
	}
	if !f.Fail("down", errors.New("x")) {
		t.Fatal("first failure not logged")
	}
	if f.Fail("down", errors.New("x")) {
		t.Fatal("second failure inside the interval was logged")
	}
	f.OK("up")
	if !f.Fail("down", errors.New("y")) {
		t.Fatal("first failure of a new run not logged")
	}
	if n := len(lines(&buf)); n != 3 {
		t.Fatalf("%d lines, want 3:\n%s", n, buf.String())
	}
}

// With Idle set, a failure after a quiet spell starts a new run: it is logged as a first line,
// not as "still failing" for the hours in between.
func TestIdleEndsARun(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	f := newFailing(&buf, clk)
	f.Idle = 10 * time.Second
	require.True(t, f.Fail("refused", nil))
	clk.t = clk.t.Add(time.Second)
	require.False(t, f.Fail("refused", nil))
	clk.t = clk.t.Add(time.Hour)
	require.True(t, f.Fail("refused", nil))
	got := lines(&buf)
	require.Len(t, got, 2)
	require.NotContains(t, got[1], "still failing")
}
