package queue

import "time"

// SetRetryPause shortens the wait between failed pulls, so that a test sees many in little time.
func SetRetryPause(c *Consumer, d time.Duration) { c.pause = d }

// PullFailures is how many pulls c has seen fail.
func PullFailures(c *Consumer) int64 { return c.failures.Load() }

// SetRetireAfter sets RetireAfter for the test and restores it at its end.
func SetRetireAfter(t interface{ Cleanup(func()) }, d time.Duration) {
	old := RetireAfter
	RetireAfter = d
	t.Cleanup(func() { RetireAfter = old })
}
