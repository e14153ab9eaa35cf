package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/mattn/go-sqlite3"
)

// withWriteConn runs f on the write pool's one connection, as go-sqlite3's own connection, with
// the write statements prepared on it. Waiting for the connection (another Apply holds it) ends
// with ctx.
//
// Batches run their statements through the driver rather than database/sql: per statement,
// database/sql takes locks, converts every argument, wraps rows, and for a query inside a
// transaction whose context can end starts a goroutine to watch it. On the worker's serial store
// goroutine that bookkeeping cost more than some of the statements.
func (db *DB) withWriteConn(ctx context.Context, f func(c *sqlite3.SQLiteConn, s *stmts) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("write connection is a %T, not a go-sqlite3 connection", dc)
		}
		if db.stmts == nil || db.stmts.conn != c {
			// First use, or database/sql replaced a connection it found broken.
			if db.stmts != nil {
				_ = db.stmts.close()
				db.stmts = nil
			}
			s, err := prepare(ctx, c)
			if err != nil {
				return err
			}
			db.stmts = s
		}
		return f(c, db.stmts)
	})
}

// closeStmts closes the write statements, holding the write connection, so after a batch that
// is using them.
func (db *DB) closeStmts() error {
	conn, err := db.write.Conn(context.Background())
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(any) error {
		if db.stmts == nil {
			return nil
		}
		err := db.stmts.close()
		db.stmts = nil
		return err
	})
}

// runner runs prepared statements on the write connection, reusing its argument buffer.
type runner struct {
	args []driver.NamedValue
}

// named converts args for the driver: strings, int64 and nil pass as they are, ints become int64.
func (r *runner) named(args []any) []driver.NamedValue {
	r.args = r.args[:0]
	for i, a := range args {
		if n, ok := a.(int); ok {
			a = int64(n)
		}
		r.args = append(r.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return r.args
}

func (r *runner) exec(st *sqlite3.SQLiteStmt, args ...any) (driver.Result, error) {
	return st.ExecContext(context.Background(), r.named(args))
}

// queryRow reads the first row of st into dest; found is false when there is none.
func (r *runner) queryRow(st *sqlite3.SQLiteStmt, dest []driver.Value, args ...any) (found bool, err error) {
	rows, err := st.QueryContext(context.Background(), r.named(args))
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	if errors.Is(err, io.EOF) {
		return false, rows.Close()
	}
	return err == nil, errors.Join(err, rows.Close())
}

// query calls row for every row of st, dest holding its values.
func (r *runner) query(st *sqlite3.SQLiteStmt, dest []driver.Value, row func() error, args ...any) error {
	rows, err := st.QueryContext(context.Background(), r.named(args))
	if err != nil {
		return err
	}
	for {
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			return rows.Close()
		}
		if err == nil {
			err = row()
		}
		if err != nil {
			return errors.Join(err, rows.Close())
		}
	}
}

// text and integer read a column value as go-sqlite3 returns it (a TEXT column as a string,
// an INTEGER as int64, NULL as nil).
func text(v driver.Value) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("column holds %T, want text", v)
}

func integer(v driver.Value) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("column holds %T, want an integer", v)
}
