# Developer entry points. The two commands that matter on a fresh machine are in the README:
# `go run ./cmd/ingest` (the whole pipeline, standalone) and `go test ./...`.

GO ?= go

.PHONY: run test ci bench bench-ingest bench-worker bench-memory

run: ## the whole pipeline, standalone (embedded JetStream, in-process worker, SQLite in ./data)
	$(GO) run ./cmd/ingest

test: ## the tests, as the README says
	$(GO) test ./...

ci: ## what CI runs
	bash .ci/run

bench: bench-ingest bench-worker ## the benchmark harness: loopback only, bounded (bench/README.md)

bench-ingest: ## real cmd/ingest vs the naive sync-publish baseline; end-to-end sustainable rate
	$(GO) run ./bench/cmd/ingestbench

bench-memory: ## the ingest's memory under load over several duplicate windows: bounded, not growing with run length (~2 minutes)
	$(GO) run ./bench/cmd/ingestbench -skip-ingest -e2e=false -memory

bench-worker: ## real worker drain vs the naive one-transaction-per-event baseline; scaling
	$(GO) run ./bench/cmd/workerbench

.PHONY: bench-scaleout
bench-scaleout: ## workers as hosts (hosts lab: netns + CPU quotas, root): 1, 2, 4 worker hosts of 0.2 core draining 40,000 distinct people; table + docs/scaleout.svg (~7 minutes)
	$(GO) run ./bench/cmd/scaleout

.PHONY: bench-storecost
bench-storecost: ## the shared store's CPU and WAL per event (issue 20.3), this build against workers built at BASELINE (default 5e57f21), drained in turn on the hosts lab (root; ~9 minutes)
	$(GO) run ./bench/cmd/scaleout -baseline $(or $(BASELINE),5e57f21) -events 20000 -workers 1,2,4 -rounds 3 -hot-key=false -picture ""

.PHONY: drills
drills: ## fault drills on real processes under load, each checked against the store (docs/RELIABILITY.md); drills 8-14 on the hosts lab (root, cgroup v1; else 8-11 on loopback and 12-14 skipped); bounded
	$(GO) vet -tags drills ./drills/
	$(GO) test -tags drills -count=1 -v -timeout 15m ./drills/

.PHONY: fuzz
fuzz: ## every fuzz target, one after another, FUZZTIME each (default 60s; FUZZMATCH picks targets)
	bash scripts/fuzz.sh
