package worker

import (
	"context"
	"time"
)

// The worker's view of the accounts: their consumers follow the registry (queue.Consumer.Follow),
// their metrics series exist from the start, and each consumer's lag is read for the gauges.

// initAccounts creates every configured account's series (see Metrics.initAccount), for the
// event types the router has a handler for.
func (w *Worker) initAccounts() {
	types := w.router.Types()
	for _, id := range append(w.opts.Accounts.IDs(), OtherAccount) {
		w.metrics.initAccount(id, types)
	}
}

// followAccounts keeps the consumers and the metrics in step with the accounts until ctx ends.
func (w *Worker) followAccounts(ctx context.Context) {
	go w.cons.Follow(ctx, w.opts.Accounts)
	changed := w.opts.Accounts.Changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		changed = w.opts.Accounts.Changed() // before reading: a change meanwhile is not missed
		w.initAccounts()
		w.cons.Nudge() // an account's mapping may compile again: take its turn at once
	}
}

// accountLabel is an account's metrics label: its id when it is configured, else OtherAccount,
// so that the label's values stay bounded by the configured accounts.
func (w *Worker) accountLabel(id string) string {
	if _, ok := w.opts.Accounts.ByID(id); ok {
		return id
	}
	return OtherAccount
}

// watchLag keeps the lag gauges current.
func (w *Worker) watchLag(ctx context.Context) {
	t := time.NewTicker(w.opts.LagInterval)
	defer t.Stop()
	for {
		w.readLag(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readLag sets the lag gauges of every account consumer (accounts no longer configured summed
// under OtherAccount), and drops from the rotation the retired accounts it finds drained.
func (w *Worker) readLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	infos, err := w.cons.Infos(ctx)
	if err != nil && ctx.Err() == nil {
		w.log.Debug("read consumer lag", "err", err)
	}
	if len(infos) == 0 {
		return
	}
	type lag struct{ pending, ackPending float64 }
	byLabel := map[string]lag{}
	for _, in := range infos {
		l := byLabel[w.accountLabel(in.Account)]
		l.pending += float64(in.NumPending)
		l.ackPending += float64(in.NumAckPending)
		byLabel[w.accountLabel(in.Account)] = l
	}
	for label, l := range byLabel {
		w.metrics.pending.WithLabelValues(label).Set(l.pending)
		w.metrics.ackPending.WithLabelValues(label).Set(l.ackPending)
		w.metrics.lag.WithLabelValues(label).Set(l.pending + l.ackPending)
	}
	if err == nil {
		// Every consumer answered: series of accounts that left the rotation go.
		w.lagMu.Lock()
		for label := range w.lagLabels {
			if _, ok := byLabel[label]; !ok {
				w.metrics.pending.DeleteLabelValues(label)
				w.metrics.ackPending.DeleteLabelValues(label)
				w.metrics.lag.DeleteLabelValues(label)
			}
		}
		w.lagLabels = map[string]bool{}
		for label := range byLabel {
			w.lagLabels[label] = true
		}
		w.lagMu.Unlock()
	}
	for _, id := range w.cons.Retire(infos) {
		w.log.Info("account no longer configured and its consumer drained: left out of the rotation", "account", id)
	}
}
