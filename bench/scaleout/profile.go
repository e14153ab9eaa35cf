package scaleout

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
)

// ProfileSettings are the store host's settings a profiled drain needs: pg_stat_statements
// loaded at start, so it sees every statement of the drain (track_io_timing stays off: it would
// cost the clock reads it measures).
var ProfileSettings = []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"}

// profile writes what the store did in one drain: its statements by time (pg_stat_statements,
// with each statement's WAL), its WAL by record kind (pg_waldump --stats over the drain's range)
// and its table and index sizes. Each part that cannot be had says why and the rest goes on.
func profile(ctx context.Context, out io.Writer, conn *pgx.Conn, pg *pgServer, walStart string, n int) {
	fmt.Fprintf(out, "\n== store profile, %d worker(s) ==\n", n)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		fmt.Fprintln(out, "pg_stat_statements:", err)
	} else {
		rows, err := conn.Query(ctx, `SELECT calls, rows, total_exec_time, total_plan_time, wal_records, wal_fpi,
			wal_bytes::bigint, shared_blks_hit + shared_blks_read + shared_blks_dirtied,
			left(regexp_replace(query, '\s+', ' ', 'g'), 110)
			FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
			ORDER BY total_exec_time + total_plan_time DESC LIMIT 14`)
		if err == nil {
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "calls\trows\texec ms\tplan ms\tWAL recs\tFPI\tWAL B\tblocks\tstatement")
			var (
				calls, nrows, recs, fpi, walB, blks int64
				exec, plan                          float64
				q                                   string
			)
			_, err = pgx.ForEachRow(rows, []any{&calls, &nrows, &exec, &plan, &recs, &fpi, &walB, &blks, &q}, func() error {
				fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%s\n", calls, nrows, exec, plan, recs, fpi, walB, blks, q)
				return nil
			})
			_ = tw.Flush()
		}
		if err != nil {
			fmt.Fprintln(out, "pg_stat_statements:", err)
		}
	}
	var walEnd string
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&walEnd); err == nil {
		bin, err := postgresBin()
		if err == nil {
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_waldump"), "-p", filepath.Join(pg.dir, "data", "pg_wal"),
				"-s", walStart, "-e", walEnd, "--stats=record")
			b, err := cmd.CombinedOutput()
			fmt.Fprintf(out, "\npg_waldump --stats=record %s..%s:\n", walStart, walEnd)
			for _, line := range strings.Split(string(b), "\n") {
				// The kinds that were written; the zero rows are noise.
				if f := strings.Fields(line); len(f) > 2 && f[len(f)-2] != "0" || strings.Contains(line, "Total") || strings.HasPrefix(line, "Type") {
					fmt.Fprintln(out, line)
				}
			}
			if err != nil {
				fmt.Fprintln(out, "pg_waldump:", err)
			}
		}
	}
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relkind::text, pg_relation_size(c.oid), coalesce(s.idx_scan, 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
		WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't') AND pg_relation_size(c.oid) > 8192
		ORDER BY pg_relation_size(c.oid) DESC`)
	if err == nil {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(out)
		fmt.Fprintln(tw, "relation\tkind\tbytes\tindex scans")
		var (
			name, kind  string
			size, scans int64
		)
		_, err = pgx.ForEachRow(rows, []any{&name, &kind, &size, &scans}, func() error {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", name, kind, size, scans)
			return nil
		})
		_ = tw.Flush()
	}
	if err != nil {
		fmt.Fprintln(out, "sizes:", err)
	}
}
