package ingest_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// TestWebhookGzip posts the fixture gzip-compressed: it is accepted and stored decompressed, byte
// for byte the fixture, whatever the spelling of the encoding.
func TestWebhookGzip(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)

	for _, enc := range []string{"gzip", "x-gzip", "GZIP", " gzip "} {
		t.Run(strings.TrimSpace(enc), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			zipped := gz(t, fix)
			require.NotEqual(t, fix, zipped)
			res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
				ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", enc)
			require.Equal(t, testkit.FixtureID, requireAccepted(t, res).EventID)
			require.Equal(t, uint64(1), b.msgs(t))
			msg, err := b.stream.GetLastMsgForSubject(t.Context(), "saleassist.events.widget_new_conversation")
			require.NoError(t, err)
			require.True(t, bytes.Equal(fix, msg.Data), "the stored event must be the decompressed fixture")
		})
	}

	t.Run("LimitAppliesAfterDecompression", func(t *testing.T) {
		t.Parallel()
		// Compressed, the fixture fits the limit; decompressed it does not.
		zipped := gz(t, fix)
		limit := int64(len(fix) - 1)
		require.Less(t, int64(len(zipped)), limit)
		b := setup(t, withMaxBody(limit))
		res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", "gzip")
		requireError(t, res, http.StatusRequestEntityTooLarge, "too_large")
		require.Zero(t, b.msgs(t))

		// One byte more and it fits exactly.
		b = setup(t, withMaxBody(limit+1))
		res = b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", "gzip")
		requireAccepted(t, res)
		require.Equal(t, uint64(1), b.msgs(t))
	})
}

func TestDecodeContent(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)
	zipped := gz(t, fix)
	n := int64(len(fix))
	multi := append(gz(t, fix[:100]), gz(t, fix[100:])...)

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
		{"IdentityOverLimit", "identity", fix, n - 1, nil, ingest.ErrTooLarge},
		{"NoEncodingOverLimit", "", fix, n - 1, nil, ingest.ErrTooLarge},
		{"Gzip", "gzip", zipped, 1 << 20, fix, nil},
		{"XGzip", "x-gzip", zipped, 1 << 20, fix, nil},
		{"GzipExactlyAtLimit", "gzip", zipped, n, fix, nil},
		{"GzipOneOverLimit", "gzip", zipped, n - 1, nil, ingest.ErrTooLarge},
		{"GzipLimitZero", "gzip", zipped, 0, nil, ingest.ErrTooLarge},
		{"GzipEmptyContent", "gzip", gz(t, nil), 0, []byte{}, nil},
		{"GzipMultiMember", "gzip", multi, n, fix, nil},
		{"GzipMultiMemberOverLimit", "gzip", multi, n - 1, nil, ingest.ErrTooLarge},
		{"CorruptHeader", "gzip", []byte("definitely not gzip"), 1 << 20, nil, ingest.ErrCorruptGzip},
		{"EmptyGzip", "gzip", nil, 1 << 20, nil, ingest.ErrCorruptGzip},
		{"Truncated", "gzip", zipped[:len(zipped)-5], 1 << 20, nil, ingest.ErrCorruptGzip},
		{"TruncatedHeader", "gzip", zipped[:5], 1 << 20, nil, ingest.ErrCorruptGzip},
		{"BadChecksum", "gzip", func() []byte { b := bytes.Clone(zipped); b[len(b)-8] ^= 1; return b }(), 1 << 20, nil, ingest.ErrCorruptGzip},
		{"BadLength", "gzip", func() []byte { b := bytes.Clone(zipped); b[len(b)-4] ^= 1; return b }(), 1 << 20, nil, ingest.ErrCorruptGzip},
		{"TrailingGarbage", "gzip", append(bytes.Clone(zipped), "garbage"...), 1 << 20, nil, ingest.ErrCorruptGzip},
		{"Brotli", "br", fix, 1 << 20, nil, ingest.ErrUnsupportedEncoding},
		{"Deflate", "deflate", fix, 1 << 20, nil, ingest.ErrUnsupportedEncoding},
		{"Stacked", "gzip, gzip", gz(t, zipped), 1 << 20, nil, ingest.ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ingest.DecodeContent(tt.encoding, tt.raw, tt.limit)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Nil(t, got)
				for _, other := range []error{ingest.ErrTooLarge, ingest.ErrCorruptGzip, ingest.ErrUnsupportedEncoding} {
					if other != tt.err {
						require.NotErrorIs(t, err, other)
					}
				}
				if tt.err == ingest.ErrUnsupportedEncoding {
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

	got, err := ingest.DecodeContent("gzip", buf.Bytes(), limit)
	require.ErrorIs(t, err, ingest.ErrTooLarge)
	require.Nil(t, got)
}

// FuzzDecodeContent feeds arbitrary bytes, as gzip and as identity, under arbitrary limits: it
// must never panic, never return more than the limit, fail only with its documented errors, and
// agree with compress/gzip on what a stream holds.
func FuzzDecodeContent(f *testing.F) {
	fix := testkit.Fixture(f)
	zipped := gz(f, fix)
	f.Add(zipped, uint32(len(fix)))
	f.Add(zipped, uint32(len(fix)-1))
	f.Add(zipped[:len(zipped)/2], uint32(1<<20))
	f.Add(zipped[:10], uint32(1<<20))
	f.Add([]byte("not gzip at all"), uint32(1<<20))
	f.Add([]byte{}, uint32(0))
	f.Add(gz(f, bytes.Repeat([]byte{'{'}, 1<<16)), uint32(1024))
	f.Add(append(gz(f, []byte("a")), gz(f, []byte("b"))...), uint32(1))

	f.Fuzz(func(t *testing.T, raw []byte, limit32 uint32) {
		limit := int64(limit32 % (1 << 20))

		got, err := ingest.DecodeContent("gzip", raw, limit)
		want, wantErr := referenceGunzip(raw, limit)
		switch {
		case err == nil:
			require.LessOrEqual(t, int64(len(got)), limit)
			require.NoError(t, wantErr)
			require.True(t, bytes.Equal(want, got))
		case errors.Is(err, ingest.ErrTooLarge):
			require.ErrorIs(t, wantErr, ingest.ErrTooLarge)
			require.Nil(t, got)
		case errors.Is(err, ingest.ErrCorruptGzip):
			require.Error(t, wantErr)
			require.NotErrorIs(t, wantErr, ingest.ErrTooLarge)
			require.Nil(t, got)
		default:
			t.Fatalf("unexpected error %v", err)
		}

		got, err = ingest.DecodeContent("identity", raw, limit)
		if int64(len(raw)) > limit {
			require.ErrorIs(t, err, ingest.ErrTooLarge)
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
		return nil, ingest.ErrTooLarge
	}
	return out, nil
}
