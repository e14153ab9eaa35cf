package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every Linux
// architecture Go runs on (the kernel fixes it for user space whatever its own HZ is).
const clockTick = 10 * time.Millisecond

// procCPU is the CPU time (user + system, all threads) a process has used so far, from
// /proc/<pid>/stat. Reading it before and after a step gives that step's CPU without counting
// anything else running on the machine, which is what makes CPU per event comparable between runs
// on a shared machine where throughput is not.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// selfCPU is the CPU time this process (the harness, whose Go load generator and /metrics reader
// run in it) has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reads a server's and the harness's CPU at the start of a measurement and reports what
// each used per event at its end.
type cpuMeter struct {
	pid          int
	server, self time.Duration
}

func startCPU(pid int) cpuMeter {
	c, _ := procCPU(pid)
	return cpuMeter{pid: pid, server: c, self: selfCPU()}
}

// perEvent returns the server's and the harness's CPU per event, and the server's cores in use
// (CPU seconds per second) over elapsed, for n events.
func (m cpuMeter) perEvent(n float64, elapsed time.Duration) (server, self time.Duration, cores float64) {
	c, err := procCPU(m.pid)
	if err != nil || n <= 0 {
		return 0, 0, 0
	}
	ds, dh := c-m.server, selfCPU()-m.self
	if elapsed > 0 {
		cores = ds.Seconds() / elapsed.Seconds()
	}
	return time.Duration(float64(ds) / n), time.Duration(float64(dh) / n), cores
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/1e3) }
