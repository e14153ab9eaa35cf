package postgres

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// Writers on their own pools apply batches that share many keys in different orders:
// people known by email, by phone, or by both (so leads are found by one key while another
// writer holds the other, which makes Apply start over: dozens of times per run). Every batch
// must commit (no deadlock, which PostgreSQL would report as an error), every event be stored
// exactly once, and every email belong to exactly one lead.
func TestManyWritersManyKeys(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	const (
		writers = 4
		batches = 30
		batch   = 8
		people  = 30
	)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		stored = map[string]int{}
	)
	for w := range writers {
		db := open(t, url)
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		wg.Go(func() {
			for b := range batches {
				recs := make([]pipeline.Record, batch)
				for i := range recs {
					p := rng.IntN(people)
					l := &pipeline.Lead{Name: fmt.Sprintf("w%d-b%d-%d", w, b, i), SeenAt: time.Unix(int64(rng.IntN(1000)), 0)}
					switch rng.IntN(3) {
					case 0:
						l.Email = fmt.Sprintf("p%d@example.com", p)
					case 1:
						l.MobileNumber = fmt.Sprintf("+9190000%05d", p)
					default:
						l.Email, l.MobileNumber = fmt.Sprintf("p%d@example.com", p), fmt.Sprintf("+9190000%05d", p)
						l.AltPhone = fmt.Sprintf("+9190000%05d", rng.IntN(people))
					}
					// Some events are sent by two writers (a redelivery elsewhere).
					id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					if i%10 == 0 {
						id = fmt.Sprintf("shared-b%d-%d", b, i)
					}
					recs[i] = record(id, l)
				}
				res, err := db.Apply(t.Context(), recs)
				mu.Lock()
				errs = append(errs, err)
				for i, r := range res {
					errs = append(errs, r.Err)
					if r.Err == nil && r.Outcome == pipeline.Stored {
						stored[recs[i].EventID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for id, n := range stored {
		require.Equal(t, 1, n, id)
	}
	db := open(t, url)
	c, err := db.Counts(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, int64(len(stored)), c.Events)
	var dupEmails int
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT count(*) FROM (SELECT email FROM leads
		WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1) d`).Scan(&dupEmails))
	require.Zero(t, dupEmails)
	var unlinked int
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE lead_id IS NULL`).Scan(&unlinked))
	require.Zero(t, unlinked)
}

func record(id string, l *pipeline.Lead) pipeline.Record {
	return pipeline.Record{EventID: id, EventType: "widget_new_conversation", ReceivedAt: time.Now(),
		Payload: []byte(`{"payload":{"id":"` + id + `"}}`), Lead: l}
}
