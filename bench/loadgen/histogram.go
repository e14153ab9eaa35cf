package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's resolution: each power of two is split into 2^subBits linear
// buckets, so a reported value is within 1/2^subBits (about 1.6 %) of the true one. That is the
// HDR histogram idea without the dependency.
const subBits = 6

const (
	subCount  = 1 << subBits // buckets per power of two
	linearMax = 2 * subCount // values below this have a bucket each
	nBuckets  = linearMax + (64-subBits-1)*subCount
)

// Histogram records durations (nanoseconds) in log-linear buckets. It is not safe for concurrent
// use: give each goroutine its own and Merge them at the end.
type Histogram struct {
	counts [nBuckets]uint64
	total  uint64
	sum    float64
	min    uint64
	max    uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: ^uint64(0)} }

func bucketOf(v uint64) int {
	if v < linearMax {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // >= 1
	m := v >> uint(e)                // in [subCount, 2*subCount)
	return linearMax + (e-1)*subCount + int(m-subCount)
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < linearMax {
		return uint64(i)
	}
	e := (i-linearMax)/subCount + 1
	m := uint64((i-linearMax)%subCount + subCount)
	return (m+1)<<uint(e) - 1
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	if o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest observation.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the average observation.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value at quantile q (0..1): the upper edge of the bucket holding the
// ceil(q*n)-th smallest observation, capped at the largest observation seen.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
