package accept_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
)

func TestDecodeContent(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)
	zipped := testkit.Gzip(t, fix)
	n := int64(len(fix))
	multi := append(testkit.Gzip(t, fix[:100]), testkit.Gzip(t, fix[100:])...)

	tests := []struct {
		name     string
		encoding string
		raw      []byte
		limit    int64
		want     []byte
		err      error
	}{
		{"NoEncoding", "", fix, n, fix, nil},
		{"Identity", "identity", fix, n, fix, nil},
		{"IdentityUpper", " Identity ", fix, n, fix, nil},
		{"IdentityOverLimit", "identity", fix, n - 1, nil, accept.ErrTooLarge},
		{"NoEncodingOverLimit", "", fix, n - 1, nil, accept.ErrTooLarge},
		{"Gzip", "gzip", zipped, 1 << 20, fix, nil},
		{"XGzip", "x-gzip", zipped, 1 << 20, fix, nil},
		{"GzipExactlyAtLimit", "gzip", zipped, n, fix, nil},
		{"GzipOneOverLimit", "gzip", zipped, n - 1, nil, accept.ErrTooLarge},
		{"GzipLimitZero", "gzip", zipped, 0, nil, accept.ErrTooLarge},
		{"GzipEmptyContent", "gzip", testkit.Gzip(t, nil), 0, []byte{}, nil},
		{"GzipMultiMember", "gzip", multi, n, fix, nil},
		{"GzipMultiMemberOverLimit", "gzip", multi, n - 1, nil, accept.ErrTooLarge},
		{"CorruptHeader", "gzip", []byte("definitely not gzip"), 1 << 20, nil, accept.ErrCorruptGzip},
		{"EmptyGzip", "gzip", nil, 1 << 20, nil, accept.ErrCorruptGzip},
		{"Truncated", "gzip", zipped[:len(zipped)-5], 1 << 20, nil, accept.ErrCorruptGzip},
		{"TruncatedHeader", "gzip", zipped[:5], 1 << 20, nil, accept.ErrCorruptGzip},
		{"BadChecksum", "gzip", func() []byte { b := bytes.Clone(zipped); b[len(b)-8] ^= 1; return b }(), 1 << 20, nil, accept.ErrCorruptGzip},
		{"BadLength", "gzip", func() []byte { b := bytes.Clone(zipped); b[len(b)-4] ^= 1; return b }(), 1 << 20, nil, accept.ErrCorruptGzip},
		{"TrailingGarbage", "gzip", append(bytes.Clone(zipped), "garbage"...), 1 << 20, nil, accept.ErrCorruptGzip},
		{"Brotli", "br", fix, 1 << 20, nil, accept.ErrUnsupportedEncoding},
		{"Deflate", "deflate", fix, 1 << 20, nil, accept.ErrUnsupportedEncoding},
		{"Stacked", "gzip, gzip", testkit.Gzip(t, zipped), 1 << 20, nil, accept.ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := accept.DecodeContent(tt.encoding, tt.raw, tt.limit)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Nil(t, got)
				for _, other := range []error{accept.ErrTooLarge, accept.ErrCorruptGzip, accept.ErrUnsupportedEncoding} {
					if other != tt.err {
						require.NotErrorIs(t, err, other)
					}
				}
				if tt.err == accept.ErrUnsupportedEncoding {
					require.Contains(t, err.Error(), tt.encoding, "the message names the encoding")
					require.Contains(t, err.Error(), "gzip", "the message names what is accepted")
				}
				return
			}
			require.NoError(t, err)
			require.True(t, bytes.Equal(tt.want, got), "got %d bytes, want %d", len(got), len(tt.want))
			require.LessOrEqual(t, int64(len(got)), tt.limit)
		})
	}
}

func TestDecodeContentBomb(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	// 1 GiB of zeros is about 1 MiB compressed; a 64 MiB one keeps the test quick and is still
	// 64 times the limit.
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	zero := make([]byte, 1<<20)
	for range 64 {
		_, err := zw.Write(zero)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), limit/4)

	got, err := accept.DecodeContent("gzip", buf.Bytes(), limit)
	require.ErrorIs(t, err, accept.ErrTooLarge)
	require.Nil(t, got)
}

// FuzzDecodeContent feeds arbitrary bytes, as gzip and as identity, under arbitrary limits: it
// must never panic, never return more than the limit, fail only with its documented errors, and
// agree with compress/gzip on what a stream holds.
func FuzzDecodeContent(f *testing.F) {
	fix := testkit.Fixture(f)
	zipped := testkit.Gzip(f, fix)
	f.Add(zipped, uint32(len(fix)))
	f.Add(zipped, uint32(len(fix)-1))
	f.Add(zipped[:len(zipped)/2], uint32(1<<20))
	f.Add(zipped[:10], uint32(1<<20))
	f.Add([]byte("not gzip at all"), uint32(1<<20))
	f.Add([]byte{}, uint32(0))
	f.Add(testkit.Gzip(f, bytes.Repeat([]byte{'{'}, 1<<16)), uint32(1024))
	f.Add(append(testkit.Gzip(f, []byte("a")), testkit.Gzip(f, []byte("b"))...), uint32(1))

	f.Fuzz(func(t *testing.T, raw []byte, limit32 uint32) {
		limit := int64(limit32 % (1 << 20))

		got, err := accept.DecodeContent("gzip", raw, limit)
		want, wantErr := referenceGunzip(raw, limit)
		switch {
		case err == nil:
			require.LessOrEqual(t, int64(len(got)), limit)
			require.NoError(t, wantErr)
			require.True(t, bytes.Equal(want, got))
		case errors.Is(err, accept.ErrTooLarge):
			require.ErrorIs(t, wantErr, accept.ErrTooLarge)
			require.Nil(t, got)
		case errors.Is(err, accept.ErrCorruptGzip):
			require.Error(t, wantErr)
			require.NotErrorIs(t, wantErr, accept.ErrTooLarge)
			require.Nil(t, got)
		default:
			t.Fatalf("unexpected error %v", err)
		}

		got, err = accept.DecodeContent("identity", raw, limit)
		if int64(len(raw)) > limit {
			require.ErrorIs(t, err, accept.ErrTooLarge)
			require.Nil(t, got)
		} else {
			require.NoError(t, err)
			require.True(t, bytes.Equal(raw, got))
		}
	})
}

// referenceGunzip decompresses raw with compress/gzip, reading at most limit+1 bytes.
func referenceGunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, accept.ErrTooLarge
	}
	return out, nil
}

// FuzzGzipRoundTrip: whatever the sender compresses, the ingest gets back byte for byte when it
// fits the limit, and ErrTooLarge (never a truncated body) when it does not.
func FuzzGzipRoundTrip(f *testing.F) {
	f.Add(testkit.Fixture(f), uint32(1<<20))
	f.Add([]byte{}, uint32(0))
	f.Add([]byte("x"), uint32(0))
	f.Add(bytes.Repeat([]byte{0}, 1<<16), uint32(1<<16))
	f.Add(bytes.Repeat([]byte{0}, 1<<16), uint32(1<<16-1))
	f.Fuzz(func(t *testing.T, body []byte, limit32 uint32) {
		limit := int64(limit32 % (1 << 21))
		for _, enc := range []string{"gzip", "x-gzip", " GZIP "} {
			got, err := accept.DecodeContent(enc, testkit.Gzip(t, body), limit)
			switch {
			case int64(len(body)) > limit:
				if !errors.Is(err, accept.ErrTooLarge) || got != nil {
					t.Fatalf("%d bytes under a limit of %d: %d bytes, %v", len(body), limit, len(got), err)
				}
			case err != nil || !bytes.Equal(got, body):
				t.Fatalf("%d bytes under a limit of %d: got %d bytes back, %v", len(body), limit, len(got), err)
			}
		}
	})
}
