// Package testkit holds helpers shared by the tests of several packages: an embedded JetStream,
// reading a sample from a Prometheus registry, a buffer safe for concurrent writes, the gate and
// fresh databases of the PostgreSQL tests (TEST_DATABASE_URL), and the
// repository's fixtures. Everything here drives real components; there are no mocks.
//
// testkit imports pkg/queue (and through it pkg/event), so those packages' tests may use it only
// from their external test packages (queue_test, event_test).
package testkit
