package ingest

// Internal tests: readBody is unexported, and how much it reads can only be seen from inside.

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/stretchr/testify/require"
)

// endless serves 'x' forever and counts the bytes it handed out.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// trickle is endless, but hands out at most 7 bytes per Read, as a slow network would.
type trickle struct{ endless }

func (t *trickle) Read(p []byte) (int, error) { return t.endless.Read(p[:min(len(p), 7)]) }

// TestReadBodyReadsAtMostLimitPlusOne feeds an endless body: http.MaxBytesReader caps every Read
// at the bytes still allowed plus one, so readBody takes exactly limit+1 bytes from the body to
// learn it is too large, however its buffer grows, however short the reads, and even when the
// request declared a smaller length than it sends.
func TestReadBodyReadsAtMostLimitPlusOne(t *testing.T) {
	t.Parallel()
	for _, limit := range []int64{0, 1, 511, 512, 513, 1000, 4096, 64 << 10, 1 << 20} {
		for _, declared := range []int64{-1, 0, 10} {
			for _, slow := range []bool{false, true} {
				var src interface {
					io.Reader
					count() int64
				}
				if slow {
					src = &trickleCounter{}
				} else {
					src = &endlessCounter{}
				}
				r := httptest.NewRequest(http.MethodPost, "/", nil)
				r.Body = io.NopCloser(src)
				r.ContentLength = declared

				body, err := readBody(httptest.NewRecorder(), r, limit)
				require.ErrorIs(t, err, accept.ErrTooLarge, "limit %d, declared %d", limit, declared)
				require.Nil(t, body)
				want := limit + 1
				if declared > limit {
					want = 0 // refused on its declared length alone
				}
				require.Equal(t, want, src.count(), "limit %d, declared %d, slow %v", limit, declared, slow)
			}
		}
	}
}

type endlessCounter struct{ endless }

func (e *endlessCounter) count() int64 { return e.n }

type trickleCounter struct{ trickle }

func (t *trickleCounter) count() int64 { return t.n }

func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 1000
	full := bytes.Repeat([]byte("y"), limit)

	t.Run("DeclaredTooLargeIsNotRead", func(t *testing.T) {
		t.Parallel()
		src := &endlessCounter{}
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Body = io.NopCloser(src)
		r.ContentLength = limit + 1
		body, err := readBody(httptest.NewRecorder(), r, limit)
		require.ErrorIs(t, err, accept.ErrTooLarge)
		require.Nil(t, body)
		require.Zero(t, src.count(), "a body declared too large is refused unread")
	})
	for _, declared := range []bool{true, false} {
		name := map[bool]string{true: "ExactlyAtLimit", false: "ExactlyAtLimitUndeclared"}[declared]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(full))
			if !declared {
				r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(full)})
				r.ContentLength = -1
			}
			body, err := readBody(httptest.NewRecorder(), r, limit)
			require.NoError(t, err)
			require.Equal(t, full, body)
		})
	}
	t.Run("OneOverLimitUndeclared", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Body = io.NopCloser(bytes.NewReader(append(bytes.Clone(full), 'z')))
		r.ContentLength = -1
		body, err := readBody(httptest.NewRecorder(), r, limit)
		require.ErrorIs(t, err, accept.ErrTooLarge)
		require.Nil(t, body)
	})
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/", http.NoBody)
		body, err := readBody(httptest.NewRecorder(), r, limit)
		require.NoError(t, err)
		require.Empty(t, body)
	})
	t.Run("ReadError", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("connection reset by peer")
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(full[:10]), &failing{boom}))
		r.ContentLength = -1
		body, err := readBody(httptest.NewRecorder(), r, limit)
		require.ErrorIs(t, err, boom)
		require.NotErrorIs(t, err, accept.ErrTooLarge)
		require.Contains(t, err.Error(), "request body")
		require.Nil(t, body)
	})
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
