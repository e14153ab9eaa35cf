package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Status is what `ingestctl status` reports and the console's stats show (Ops.Status).
type Status struct {
	Streams []StreamStatus `json:"streams"`
	// Consumer is the workers' backlog over every account's consumer (their sums), named after
	// the default account's; nil before any worker made one.
	Consumer *ConsumerStatus `json:"consumer,omitempty"`
	// Accounts is each account's consumer, the default account first.
	Accounts []AccountConsumerStatus `json:"accounts,omitempty"`
	// DeadLetters and Quarantined count the entries waiting for an operator.
	DeadLetters uint64 `json:"dead_letters"`
	Quarantined uint64 `json:"quarantined"`
	// Workers are the workers that reported in the last queue.WorkersTTL: consuming, or paused
	// (since when, why).
	Workers []queue.WorkerState `json:"workers"`
}

// StreamStatus is one stream's size against its limit.
type StreamStatus struct {
	Name     string `json:"name"`
	Exists   bool   `json:"exists"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
}

// ConsumerStatus is the shared worker consumer's backlog.
type ConsumerStatus struct {
	Name         string `json:"name"`
	Pending      uint64 `json:"pending"`
	AckPending   int    `json:"ack_pending"`
	Redelivered  int    `json:"redelivered"`
	WaitingPulls int    `json:"waiting_pulls"`
}

// AccountConsumerStatus is one account's consumer: its events' backlog.
type AccountConsumerStatus struct {
	Account string `json:"account"`
	ConsumerStatus
}

// consumers reads every account's consumer on the events stream (queue.Config.ConsumerAccount
// names them) and their sum; nil and none when no worker has made one yet.
func (o *Ops) consumers(ctx context.Context) (*ConsumerStatus, []AccountConsumerStatus, error) {
	s, err := o.js.Stream(ctx, o.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", o.cfg.Stream, err)
	}
	var accts []AccountConsumerStatus
	infos := s.ListConsumers(ctx)
	for info := range infos.Info() {
		id, ok := o.cfg.ConsumerAccount(info.Name)
		if !ok {
			continue // not a worker's (an operator's own consumer)
		}
		accts = append(accts, AccountConsumerStatus{Account: id, ConsumerStatus: ConsumerStatus{Name: info.Name,
			Pending: info.NumPending, AckPending: info.NumAckPending, Redelivered: info.NumRedelivered, WaitingPulls: info.NumWaiting}})
	}
	if err := infos.Err(); err != nil {
		return nil, nil, fmt.Errorf("consumers of %s: %w", o.cfg.Stream, err)
	}
	if len(accts) == 0 {
		return nil, nil, nil
	}
	sort.Slice(accts, func(i, j int) bool {
		a, b := accts[i].Account, accts[j].Account
		return a == account.Default || b != account.Default && a < b
	})
	sum := &ConsumerStatus{Name: o.cfg.Consumer}
	for _, a := range accts {
		sum.Pending += a.Pending
		sum.AckPending += a.AckPending
		sum.Redelivered += a.Redelivered
		sum.WaitingPulls += a.WaitingPulls
	}
	return sum, accts, nil
}
