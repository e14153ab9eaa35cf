package drills

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scrape reads a program's /metrics (Prometheus text) into sample → value, the sample written as
// in the text (name{labels}). An unreachable program yields nil.
func Scrape(addr string) map[string]float64 {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// Sum adds the values of every sample of metric name whose labels contain all of want
// (e.g. `outcome="duplicate"`).
func Sum(m map[string]float64, name string, want ...string) float64 {
	var s float64
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, w := range want {
			if !strings.Contains(k, w) {
				ok = false
				break
			}
		}
		if ok {
			s += v
		}
	}
	return s
}
