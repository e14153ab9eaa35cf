package ctl

import (
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// quarantineList is `ingestctl quarantine list [--account ID] [--json]`: the authenticated
// requests the ingest could not accept.
func quarantineList(c *CLI) command {
	return &ParkedListCommand[admin.QuarantineEntry]{CLI: c, name: "quarantine list",
		about: "The authenticated requests the ingest could not accept, oldest first, with why.",
		list:  (*admin.Ops).Quarantine, header: "ID\tACCOUNT\tRECEIVED\tREASON\tBYTES\tERROR",
		row: func(w io.Writer, e admin.QuarantineEntry) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.Account, e.ReceivedAt.Format(time.RFC3339), e.Reason, e.Bytes, clip(e.Error, 100))
		},
		count: func(n int) string { return fmt.Sprintf("%d in quarantine", n) },
	}
}
