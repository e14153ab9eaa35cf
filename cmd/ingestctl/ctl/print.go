package ctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// printJSON writes v as indented JSON, for --json.
func (c *CLI) printJSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes a listing: the header's (if any) and rows' tab-separated cells aligned in
// columns.
func (c *CLI) table(header string, rows func(w io.Writer)) error {
	return table(c.Stdout, header, rows)
}

func table(w io.Writer, header string, rows func(w io.Writer)) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != "" {
		fmt.Fprintln(tw, header)
	}
	rows(tw)
	return tw.Flush()
}

// plural is "1 dead letter", "2 dead letters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// humanBytes is n in binary units: "512 B", "5.8 KiB", "1.0 GiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// clip shortens s to n bytes for a table's cell.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// output prints v as JSON with --json, else as text prints it.
func (c *CLI) output(jsonOut bool, v any, text func() error) error {
	if jsonOut {
		return c.printJSON(v)
	}
	return text()
}

// listing prints items as JSON with --json, else as a table (header, and a row an item) and a
// line that counts them.
func listing[T any](c *CLI, jsonOut bool, items []T, header string, row func(w io.Writer, item T), count string) error {
	return c.output(jsonOut, items, func() error {
		if err := c.table(header, func(w io.Writer) {
			for _, item := range items {
				row(w, item)
			}
		}); err != nil {
			return err
		}
		fmt.Fprintln(c.Stdout, count)
		return nil
	})
}
