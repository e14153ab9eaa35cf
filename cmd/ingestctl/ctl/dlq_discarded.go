package ctl

import (
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// dlqDiscarded is `ingestctl dlq discarded [--account ID] [--json]`: the dead letters operators
// gave up on, with their reasons.
func dlqDiscarded(c *CLI) command {
	return &ParkedListCommand[admin.Discarded]{CLI: c, name: "dlq discarded",
		about: "The discarded dead letters, oldest first, with the reasons they were given up on.",
		list:  (*admin.Ops).DiscardedDeadLetters, header: "WAS\tACCOUNT\tEVENT\tTYPE\tDLQ REASON\tDISCARDED\tWHY",
		row: func(w io.Writer, d admin.Discarded) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason,
				d.DiscardedAt.Format(time.RFC3339), clip(d.DiscardReason, 100))
		},
		count: func(n int) string { return plural(n, "discarded dead letter") },
	}
}
