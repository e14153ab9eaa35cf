# syntax=docker/dockerfile:1
#
# The pipeline's container image: cmd/ingest, cmd/worker, cmd/ingestctl and cmd/console in one image (CMD
# picks the program; the default is the ingest), built with cgo for SQLite, running as a non-root
# user with its data in the /data volume.
#
#   docker build -t saleassist-pipeline .
#   docker run -p 8080:8080 -v pipeline-data:/data saleassist-pipeline            # standalone
#   docker run ... saleassist-pipeline worker                                      # one more worker
#   docker run ... saleassist-pipeline ingestctl status
#
# A second target, nats-exporter, wraps prometheus-nats-exporter in the same runtime so that it
# too has a HEALTHCHECK (the upstream image is FROM scratch, with nothing to run a check with).
# docker-compose.yml builds both.

ARG GO_VERSION=1.26
ARG NATS_EXPORTER_VERSION=0.17.3

# ---- build: the programs and the healthcheck, with cgo (mattn/go-sqlite3 needs it) ----
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /out/ \
      ./cmd/ingest ./cmd/worker ./cmd/ingestctl ./cmd/console ./deploy/healthcheck

# ---- runtime: Debian slim (glibc for the cgo binaries), CA certificates, a non-root user ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pipeline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin pipeline \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
USER 10001:10001
WORKDIR /data

# ---- nats-exporter: the upstream binary, with our healthcheck beside it ----
FROM natsio/prometheus-nats-exporter:${NATS_EXPORTER_VERSION} AS nats-exporter-upstream
FROM runtime AS nats-exporter
COPY --from=nats-exporter-upstream /prometheus-nats-exporter /usr/local/bin/prometheus-nats-exporter
ENV HEALTHCHECK_URL=http://127.0.0.1:7777/metrics
EXPOSE 7777
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/healthcheck"]
ENTRYPOINT ["/usr/local/bin/prometheus-nats-exporter"]

# ---- pipeline (the default target): ingest, worker, ingestctl, console ----
FROM runtime AS pipeline
COPY --from=build /out/ingest /out/worker /out/ingestctl /out/console /usr/local/bin/
# Every program keeps its state under /data: the generated webhook secret, and standalone, the
# JetStream files and leads.db; a worker's SQLite file (DATABASE_URL).
ENV DATA_DIR=/data \
    DATABASE_URL=/data/leads.db \
    INGEST_ADDR=:8080 \
    WORKER_ADDR=:9091 \
    HEALTHCHECK_URL=http://127.0.0.1:8080/readyz
VOLUME ["/data"]
# 8080: webhooks, /healthz, /readyz and /metrics of the ingest; 9091: a worker's /metrics and health;
# 8081: the console (cmd/console, or a standalone ingest's CONSOLE_ADDR).
EXPOSE 8080 9091 8081
# /readyz: the ingest can publish to JetStream; a worker is connected to NATS. A worker container
# sets HEALTHCHECK_URL=http://127.0.0.1:9091/readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/usr/local/bin/healthcheck"]
CMD ["ingest"]
