package account

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
)

// ResyncEvery is how often Follow reads the whole bucket again although its watch says nothing
// changed: a safety net under the watch (which already survives reconnects by itself), so that
// nothing a watch could miss stays missed for longer than this.
const ResyncEvery = time.Minute

// rewatchPause is the wait between two attempts to watch the bucket again after a watch ended.
var rewatchPause = time.Second

// WithLogger gives Follow its logger (default slog.Default()). It logs state changes only:
// accounts added, changed or removed (by id, never their secrets), and a watch lost and regained.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// Follow keeps reg equal to the accounts bucket plus the Default account (WithDefault: env,
// overlaid by a "default" entry). It loads the bucket into reg before it returns, so the first
// request a program serves already sees every account, and then keeps reg current from a watch
// of the bucket until ctx ends: a change reaches reg within moments. A lost watch (NATS
// restarted, a connection closed) is made again, and the bucket read whole again, every
// rewatchPause until it works, the failure logged once; every ResyncEvery the bucket is also
// read whole. reg.Set is called only when what it holds changes. Follow makes the bucket when it
// does not exist yet (WithReplicas); it returns an error only when the first load fails.
func Follow(ctx context.Context, js jetstream.JetStream, reg *Registry, env Account, opts ...Option) error {
	o := newOptions(opts)
	k, err := OpenKV(ctx, js, opts...)
	if err != nil {
		return err
	}
	f := &follower{kv: k.kv, reg: reg, env: env, log: o.log, conn: js.Conn()}
	f.fail = &ratelog.Failing{Log: o.log}
	w, err := f.watch(ctx)
	if err != nil {
		return err
	}
	go f.run(ctx, w)
	return nil
}

type follower struct {
	kv   jetstream.KeyValue
	conn *nats.Conn
	reg  *Registry
	env  Account
	log  *slog.Logger
	fail *ratelog.Failing
	// accounts is the bucket as the watch has it; last is what reg was last Set to.
	accounts map[string]Account
	last     []Account
}

// watch starts a watch of the whole bucket, reads its initial values into a fresh view, and
// publishes that view to reg.
func (f *follower) watch(ctx context.Context) (jetstream.KeyWatcher, error) {
	w, err := f.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch accounts bucket %s: %w", Bucket, err)
	}
	f.accounts = map[string]Account{}
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return nil, fmt.Errorf("load accounts bucket %s: %w", Bucket, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("load accounts bucket %s: the watch ended before the bucket was read", Bucket)
			}
			if e == nil { // every current value has been delivered
				f.publish()
				return w, nil
			}
			f.apply(e)
		}
	}
}

// run follows w until ctx ends, watching again when w ends and reading everything again every
// ResyncEvery.
//
// A reconnect also starts a new watch: the watch's own consumer notices a restarted server only
// after missed heartbeats (some 20 s), a new one reads the bucket at once.
func (f *follower) run(ctx context.Context, w jetstream.KeyWatcher) {
	resync := time.NewTicker(ResyncEvery)
	defer resync.Stop()
	reconnected := f.conn.StatusChanged(nats.CONNECTED)
	defer f.conn.RemoveStatusListener(reconnected)
	for {
		lost := f.follow(ctx, w, resync.C, reconnected)
		_ = w.Stop()
		if ctx.Err() != nil || f.conn.IsClosed() {
			return // the program is shutting down: its connection is closed for good
		}
		if lost {
			f.log.Warn("accounts watch ended; watching the bucket again", "bucket", Bucket)
		}
		for {
			var err error
			if w, err = f.watch(ctx); err == nil {
				break
			}
			if ctx.Err() != nil || f.conn.IsClosed() {
				return
			}
			f.fail.Fail("watching the accounts bucket failed; accounts stay as they were, retrying", err, "bucket", Bucket)
			select {
			case <-ctx.Done():
				return
			case <-time.After(rewatchPause):
			}
		}
		f.fail.OK("watching the accounts bucket again", "bucket", Bucket)
	}
}

// follow applies w's updates until ctx ends (false), w ends (true), or a resync is due or the
// connection is back (false).
func (f *follower) follow(ctx context.Context, w jetstream.KeyWatcher, resync <-chan time.Time, reconnected <-chan nats.Status) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-resync:
			return false
		case <-reconnected:
			return false
		case e, ok := <-w.Updates():
			if !ok {
				return true
			}
			if e != nil {
				f.apply(e)
				f.publish()
			}
		}
	}
}

// apply records one entry of the bucket in the view.
func (f *follower) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		delete(f.accounts, e.Key())
		return
	}
	a, err := decode(e)
	if err == nil {
		err = ValidID(a.ID)
	}
	if err != nil {
		// Keep what was there: a bad write must not take an account down. ingestctl accounts
		// list reports the entry.
		f.log.Warn("an entry of the accounts bucket is not an account; ignored", "account", e.Key(), "error", err)
		return
	}
	f.accounts[a.ID] = a
}

// publish sets reg to the view plus the Default account, when that differs from what it holds,
// and logs which accounts were added, changed or removed.
func (f *follower) publish() {
	list := make([]Account, 0, len(f.accounts))
	for _, a := range f.accounts {
		list = append(list, a)
	}
	list = WithDefault(list, f.env)
	slices.SortFunc(list, func(a, b Account) int { return cmp.Compare(a.ID, b.ID) })
	if f.last != nil && reflect.DeepEqual(list, f.last) {
		return
	}
	added, changed, removed := diff(f.last, list)
	f.reg.Set(list)
	if f.last != nil || len(list) > 1 {
		f.log.Info("accounts changed", "accounts", len(list), "added", added, "changed", changed, "removed", removed)
	}
	f.last = list
}

// diff returns the ids added, changed and removed from old to new (both sorted by id).
func diff(old, new []Account) (added, changed, removed []string) {
	was := make(map[string]Account, len(old))
	for _, a := range old {
		was[a.ID] = a
	}
	for _, a := range new {
		o, ok := was[a.ID]
		switch {
		case !ok:
			added = append(added, a.ID)
		case !reflect.DeepEqual(o, a):
			changed = append(changed, a.ID)
		}
		delete(was, a.ID)
	}
	for id := range was {
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return added, changed, removed
}
