package pipeline_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

func TestPermanent(t *testing.T) {
	t.Parallel()

	require.NoError(t, pipeline.Permanent(nil))
	require.False(t, pipeline.IsPermanent(nil))

	base := errors.New("bad event")
	p := pipeline.Permanent(base)
	require.True(t, pipeline.IsPermanent(p))
	require.ErrorIs(t, p, base, "Permanent keeps the cause reachable")
	require.Equal(t, "bad event", p.Error())

	wrapped := fmt.Errorf("handle event 7: %w", p)
	require.True(t, pipeline.IsPermanent(wrapped))
	require.True(t, pipeline.IsPermanent(fmt.Errorf("outer: %w", wrapped)))
	require.True(t, pipeline.IsPermanent(errors.Join(errors.New("other"), p)))

	require.False(t, pipeline.IsPermanent(base))
	require.False(t, pipeline.IsPermanent(fmt.Errorf("transient: %w", base)))
	// %v flattens the error: the mark is lost, as it should be.
	require.False(t, pipeline.IsPermanent(fmt.Errorf("flattened: %v", p)))
}

func TestInvalidError(t *testing.T) {
	t.Parallel()

	base := errors.New("payload: missing")
	err := fmt.Errorf("event 7: %w", pipeline.Permanent(&pipeline.InvalidError{Err: base}))
	require.True(t, pipeline.IsInvalid(err))
	require.True(t, pipeline.IsPermanent(err))
	require.ErrorIs(t, err, base)
	require.Equal(t, "event 7: schema validation failed: payload: missing", err.Error())
	require.False(t, pipeline.IsInvalid(pipeline.Permanent(base)))
	require.False(t, pipeline.IsInvalid(nil))
}
