// Package testkit holds helpers shared by the tests of several packages: an embedded JetStream,
// reading a sample from a Prometheus registry, a buffer safe for concurrent writes, the gate and
// fresh databases of the PostgreSQL tests (TEST_DATABASE_URL), the repository's fixtures and the
// team's shared ones (FixturesDir, SharedFixturesDir, Fixture, WithID, FixtureDocument,
// EditFixture), decoding as the worker does (DecodeNumbers, Document), events as the ingest hands
// them on (NewEvent, EventAt, FixtureEvent), and HMAC signatures of webhook bodies (HMAC,
// HMACHex). Everything here drives real components; there are no mocks.
//
// testkit imports pkg/queue and the root package pipeline, so those packages' tests may use it
// only from their external test packages (queue_test, pipeline_test). It imports nothing else of ours: any other
// package's in-package tests may use it.
package testkit
