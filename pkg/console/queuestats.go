package console

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// queueStats fills in v's JetStream figures for account acct: its dead letters and quarantined
// requests, its consumer's backlog, and (for the operator) the workers. They are left null, with
// the reason, when NATS cannot be asked, so the store's figures still show during an outage.
//
// The dead-letter and quarantine streams hold every account's entries, so one account's count
// reads them through (as their listings do); an installation with the default account alone
// takes the streams' sizes, as before accounts.
func (s *Server) queueStats(ctx context.Context, acct string, operator bool, v *statsView) {
	ops := s.opsFor(acct)
	if ops == nil {
		v.QueueError = errNoOps.Message
		return
	}
	st, err := ops.Status(ctx)
	if err != nil {
		v.QueueError = "JetStream status: " + err.Error()
		return
	}
	dead, quarantined := st.DeadLetters, st.Quarantined
	if ids := s.accounts.IDs(); acct != account.Default || len(ids) > 1 || len(ids) == 1 && ids[0] != account.Default {
		if dead, quarantined, err = ops.Waiting(ctx); err != nil {
			v.QueueError = "JetStream status: " + err.Error()
			return
		}
	}
	v.DeadLetters, v.Quarantined = &dead, &quarantined
	cs, err := ops.AccountConsumer(ctx)
	if err != nil {
		v.QueueError = "JetStream status: " + err.Error()
		return
	}
	if cs != nil {
		v.Consumer = &consumerLag{Name: cs.Name, Pending: cs.Pending, AckPending: cs.AckPending, Lag: cs.Lag()}
	}
	if !operator {
		return
	}
	v.Workers = st.Workers
	for _, w := range st.Workers {
		if w.Paused {
			v.Paused = append(v.Paused, w)
		}
	}
}
