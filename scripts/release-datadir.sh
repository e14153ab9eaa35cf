#!/bin/sh
# Remakes pkg/app/testdata/release-e5745b1: a data directory written by the release before
# accounts (e5745b1), for TestReleaseDataDirectoryKeepsWorking. The standalone ingest of then
# stores rel-1 and rel-2 (one person), then runs with -worker=false and accepts rel-3 and rel-4,
# which stay queued on the subjects of then. Run from the module root; needs curl and a free
# port 18931 on loopback.
set -eu
rel=e5745b1
out=${1:-pkg/app/testdata/release-$rel} # or where the first argument says
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; git worktree remove --force "$tmp/src" 2>/dev/null || true; rm -rf "$tmp"' EXIT
git worktree add -q "$tmp/src" $rel
(cd "$tmp/src" && go build -o "$tmp/ingest" ./cmd/ingest)
addr=127.0.0.1:18931
fixture=testdata/fixtures/widget_new_conversation.json
run() { "$tmp/ingest" -addr $addr -data-dir "$tmp/data" -embedded-nats-addr "" -console-addr "" "$@" >"$tmp/log" 2>&1 & pid=$!; sleep 3; }
send() { # id [email]
	sed "s/dc60de93-d726-43cc-ad06-9cc7544cb8e5/$1/; s/prakashm@athenabpo.in/${2:-prakashm@athenabpo.in}/" $fixture |
		curl -sf -X POST http://$addr/webhooks/saleassist -H "X-Webhook-Secret: $(cat "$tmp/data/webhook-secret")" \
			-H 'Content-Type: application/json' --data-binary @- >/dev/null
}
run
send rel-1; send rel-2
sleep 1; kill $pid; wait $pid || true
run -worker=false
send rel-3 rel-3@example.com; send rel-4 rel-4@example.com
kill $pid; wait $pid || true
rm -rf "$out"; cp -r "$tmp/data" "$out"
echo "wrote $out"
