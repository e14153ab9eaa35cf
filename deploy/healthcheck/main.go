// Command healthcheck is the container image's HEALTHCHECK: it asks one URL and exits 0 when the
// answer is 2xx within the timeout, 1 otherwise. It lets the runtime image go without curl or
// wget (and their libraries): the same few lines of Go that the programs are made of.
//
//	healthcheck [-timeout 3s] [URL]
//
// The URL defaults to $HEALTHCHECK_URL, so one image serves the ingest (:8080) and the worker
// (:9091) with the same HEALTHCHECK instruction and a different environment.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	url := getenv("HEALTHCHECK_URL")
	if fs.NArg() > 0 {
		url = fs.Arg(0)
	}
	if url == "" {
		fmt.Fprintln(stderr, "healthcheck: no URL: give one or set HEALTHCHECK_URL")
		return 2
	}
	if err := check(url, *timeout); err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// check GETs url and wants a 2xx answer within timeout.
func check(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, body)
	}
	return nil
}
