// Command loadgen posts the webhook fixture, each time with a unique payload.id, to a loopback
// server: closed loop (as fast as it answers) or open loop (-rate, constant offered rate, latency
// from the intended send time). It refuses non-loopback targets and always stops after -d or -n.
//
//	go run ./bench/cmd/loadgen -url http://127.0.0.1:8080/webhooks/saleassist -secret "$(cat data/webhook-secret)" -c 64 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/webhooks/saleassist", "webhook URL (loopback only)")
	fixture := flag.String("fixture", "testdata/fixtures/widget_new_conversation.json", "request body; its payload.id is replaced per request")
	oldID := flag.String("id", loadgen.FixtureID, "payload.id in the fixture, replaced by a unique id per request")
	header := flag.String("secret-header", "X-Webhook-Secret", "header carrying the secret; empty = none")
	conns := flag.Int("c", 64, "connections")
	dur := flag.Duration("d", 10*time.Second, "measurement duration")
	n := flag.Int64("n", 0, "stop after this many measured requests (0 = duration only)")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up before measuring")
	rate := flag.Float64("rate", 0, "offered requests per second (open loop); 0 = closed loop")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "shared secret (default: env WEBHOOK_SECRET)")
	flag.Parse()

	fix, err := os.ReadFile(*fixture)
	if err != nil {
		fail(err)
	}
	body, err := loadgen.NewBody(fix, *oldID, "")
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := loadgen.Run(ctx, loadgen.Config{
		URL: *target, Body: body, SecretHeader: *header, Secret: *secret,
		Conns: *conns, Warmup: *warm, Duration: *dur, Requests: *n, Rate: *rate,
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("requests %d in %s: %.0f req/s (%d conns", r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS(), *conns)
	if *rate > 0 {
		fmt.Printf(", offered %.0f/s, %d sends late", *rate, r.Behind)
	}
	fmt.Printf(")\nlatency p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		ms(r.Latency.Quantile(.5)), ms(r.Latency.Quantile(.9)), ms(r.Latency.Quantile(.99)), ms(r.Latency.Quantile(.999)), ms(r.Latency.Max()))
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Printf("non-2xx %d  transport errors %d  statuses:", r.Non2xx, r.Errors)
	for _, c := range codes {
		fmt.Printf(" %d×%d", c, r.Status[c])
	}
	fmt.Println()
	if r.Sample != "" {
		fmt.Println("first non-2xx:", r.Sample)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
