package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestZZDiag(t *testing.T) {
	counts := map[string]int{}
	var mu sync.Mutex
	for iter := 0; iter < 300; iter++ {
		path := filepath.Join(t.TempDir(), "leads.db")
		if err := createFile(path); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Go(func() {
				db, _ := sql.Open("sqlite3", dsn(path, config{busyTimeout: DefaultBusyTimeout}, "_txlock=immediate"))
				defer db.Close()
				c, err := db.Conn(t.Context())
				step := "ok"
				if err != nil {
					step = "connect: " + err.Error()
				} else {
					defer c.Close()
					tx, err := c.BeginTx(t.Context(), nil)
					if err != nil {
						step = "begin: " + err.Error()
					} else {
						_, err = tx.Exec(`CREATE TABLE IF NOT EXISTS x(a)`)
						if err != nil {
							step = "exec: " + err.Error()
						} else if err = tx.Commit(); err != nil {
							step = "commit: " + err.Error()
						}
						tx.Rollback()
					}
				}
				mu.Lock()
				counts[step]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	fmt.Println(counts)
}
