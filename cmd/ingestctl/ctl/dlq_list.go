package ctl

import (
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// dlqList is `ingestctl dlq list [--account ID] [--json]`: the events the workers gave up on,
// with why.
func dlqList(c *CLI) command {
	return &ParkedListCommand[admin.DeadLetter]{CLI: c, name: "dlq list",
		about: "The events the workers gave up on, oldest first, with why.",
		list:  (*admin.Ops).DeadLetters, header: "ID\tACCOUNT\tEVENT\tTYPE\tREASON\tDELIVERIES\tFIRST FAILURE\tERROR",
		row: func(w io.Writer, d admin.DeadLetter) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason, d.Deliveries,
				d.FirstFailure.Format(time.RFC3339), clip(d.Error, 100))
		},
		count: func(n int) string { return plural(n, "dead letter") },
	}
}
