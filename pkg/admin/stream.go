package admin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// eachMsg calls fn for every message stream holds, oldest first, skipping deleted ones (replayed
// or dropped). what names an entry in errors ("dead letter").
func eachMsg(ctx context.Context, stream jetstream.Stream, what string, fn func(*jetstream.RawStreamMsg)) error {
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream.CachedInfo().Config.Name, err)
	}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if queue.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s %d: %w", what, seq, err)
		}
		fn(m)
	}
	return nil
}

// printJSON writes v as indented JSON, for --json.
func (c *CLI) printJSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
