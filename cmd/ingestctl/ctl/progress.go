package ctl

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storecopy"
)

// copyProgress shows a long copy's progress: on a terminal one line that updates in place (rows
// copied of the total, rate, time left), elsewhere (a log, a pipe) a line every few seconds and
// one when a table is done, not one per chunk.
type copyProgress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	now   func() time.Time

	table     string
	started   time.Time // when the current table began
	lastLine  time.Time
	lineShown bool // a terminal line is open (not ended with a newline)
}

func newCopyProgress(w io.Writer) *copyProgress {
	return &copyProgress{w: w, tty: isTerminal(w), every: 5 * time.Second, now: time.Now}
}

// isTerminal says whether w is a character device (a terminal), where a line can be redrawn.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update takes one progress report.
func (p *copyProgress) update(pr storecopy.Progress) {
	now := p.now()
	if pr.Table != p.table {
		p.end()
		p.table, p.started, p.lastLine = pr.Table, now, time.Time{}
	}
	done := pr.Done >= pr.Total
	line := p.line(pr, now)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.lineShown = true
		if done {
			p.end()
		}
	case done || p.lastLine.IsZero() || now.Sub(p.lastLine) >= p.every:
		fmt.Fprintln(p.w, line)
		p.lastLine = now
	}
}

// end closes a terminal line left open.
func (p *copyProgress) end() {
	if p.lineShown {
		fmt.Fprintln(p.w)
		p.lineShown = false
	}
}

func (p *copyProgress) line(pr storecopy.Progress, now time.Time) string {
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	s := fmt.Sprintf("%s: %d of %d rows (%.0f%%)", pr.Table, pr.Done, pr.Total, pct)
	elapsed := now.Sub(p.started)
	if elapsed <= 0 || pr.Done == 0 {
		return s
	}
	rate := float64(pr.Done) / elapsed.Seconds()
	s += fmt.Sprintf(", %.0f rows/s", rate)
	if left := pr.Total - pr.Done; left > 0 {
		s += ", about " + (time.Duration(float64(left) / rate * float64(time.Second))).Round(time.Second).String() + " left"
	} else {
		s += ", done in " + elapsed.Round(time.Millisecond).String()
	}
	return s
}
