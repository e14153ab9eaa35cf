package ctl

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storecopy"
)

// Issue 23, item 7: a copy of 100,000 rows in 1,000-row chunks over 20 seconds prints, to a log,
// a line every 5 seconds and one at the end of each table, not 100 lines; with the rate and the
// time left.
func TestCopyProgressToALogIsAFewLines(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := &copyProgress{w: &buf, every: 5 * time.Second, now: func() time.Time { return clock }}
	p.update(storecopy.Progress{Table: "leads", Done: 0, Total: 100_000})
	for done := int64(1000); done <= 100_000; done += 1000 {
		clock = clock.Add(200 * time.Millisecond)
		p.update(storecopy.Progress{Table: "leads", Done: done, Total: 100_000})
	}
	p.update(storecopy.Progress{Table: "events", Done: 5, Total: 5})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.LessOrEqual(t, len(lines), 8, buf.String())
	require.GreaterOrEqual(t, len(lines), 5, buf.String())
	require.Contains(t, lines[2], "leads: 50000 of 100000 rows (50%), 5000 rows/s, about 10s left")
	require.Contains(t, buf.String(), "leads: 100000 of 100000 rows (100%), 5000 rows/s, done in 20s")
	require.Equal(t, "events: 5 of 5 rows (100%)", lines[len(lines)-1])
}

// On a terminal the line is redrawn in place, and ended when the table is done.
func TestCopyProgressOnATerminalIsOneLine(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := &copyProgress{w: &buf, tty: true, every: 5 * time.Second, now: func() time.Time { return clock }}
	for done := int64(0); done <= 3000; done += 1000 {
		clock = clock.Add(time.Second)
		p.update(storecopy.Progress{Table: "leads", Done: done, Total: 3000})
	}
	out := buf.String()
	require.Equal(t, 1, strings.Count(out, "\n"), "one line per table: %q", out)
	require.Equal(t, 4, strings.Count(out, "\r\033[K"))
	require.True(t, strings.HasSuffix(out, "leads: 3000 of 3000 rows (100%), 1000 rows/s, done in 3s\n"), out)
}
