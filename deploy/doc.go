// Package deploy holds the pipeline's operations assets and the tests that keep them honest:
//
//   - ../Dockerfile and ../docker-compose.yml (validated with compose-go: the three-node
//     JetStream cluster, replicas 3, scalable workers, healthchecks, restart policies, named
//     volumes, secrets from the env file)
//   - nats/nats.conf, parsed by nats-server itself
//   - prometheus/ (scrape config, alert rules and their promtool unit tests, run by .ci/run)
//   - grafana/ (provisioning and dashboards)
//   - healthcheck/, the image's HEALTHCHECK program
//
// The metric test runs a real ingest and worker and checks that every metric and label the
// dashboards and alerts name exists in their /metrics, so a rename cannot silently blank a panel
// or disarm an alert. There is no Go API here: only tests.
package deploy
