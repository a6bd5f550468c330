package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// leaseBucket keeps the leases, each a key that expires unless renewed.
const leaseBucket = "EVENTUALLY_LEASES"

// LeaseTTL is how long a lease outlives its holder's last renewal: a
// holder that crashed frees it after this.
const LeaseTTL = 6 * time.Second

// ErrLeaseHeld says another holder keeps the lease alive.
var ErrLeaseHeld = errors.New("the lease is held")

// Lease is one holder's claim on a name, kept on the broker.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	rev    uint64
}

// TakeLease claims key for holder. When another holder has it, it waits
// up to LeaseTTL for the lease to lapse (a holder that crashed stops
// renewing it); if it is renewed meanwhile, the answer is ErrLeaseHeld,
// naming the holder.
//
// replicas is how many servers of a cluster keep the leases, as many as
// keep the stream: a lease on a lost server could not be renewed, and
// would be lost to its holder when the server came back.
func TakeLease(ctx context.Context, nc *nats.Conn, key, holder string, replicas int) (*Lease, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: leaseBucket, TTL: LeaseTTL,
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1)})
	if err != nil {
		return nil, fmt.Errorf("lease bucket: %w", err)
	}
	deadline := time.Now().Add(LeaseTTL + time.Second)
	for {
		rev, err := kv.Create(ctx, key, []byte(holder))
		if err == nil {
			return &Lease{kv: kv, key: key, holder: holder, rev: rev}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("take lease %s: %w", key, err)
		}
		held, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // lapsed between the two calls
		}
		if err != nil {
			return nil, fmt.Errorf("take lease %s: %w", key, err)
		}
		if string(held.Value()) == holder { // our own, from before a restart
			if rev, err := kv.Update(ctx, key, []byte(holder), held.Revision()); err == nil {
				return &Lease{kv: kv, key: key, holder: holder, rev: rev}, nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w by %s", ErrLeaseHeld, held.Value())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(LeaseTTL / 6):
		}
	}
}

// Keep renews the lease until ctx is done, then releases it. It returns
// an error if the lease was lost (another holder took it after this one
// failed to renew in time).
func (l *Lease) Keep(ctx context.Context) error {
	t := time.NewTicker(LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.release()
			return nil
		case <-t.C:
		}
		rev, err := l.kv.Update(ctx, l.key, []byte(l.holder), l.rev)
		switch {
		case err == nil:
			l.rev = rev
		case ctx.Err() != nil:
			l.release()
			return nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyNotFound):
			if err := l.reclaim(ctx); err != nil {
				return err
			}
		}
		// Any other error (the broker away) is retried at the next tick;
		// the lease lapses only after LeaseTTL without renewal.
	}
}

// reclaim is for a renewal refused because the lease is not at the
// revision this holder last wrote. That need not mean another holder has
// it: a renewal that the broker took but whose answer was lost (a server
// of a cluster died) moved the revision, and an outage longer than
// LeaseTTL (a cluster electing leaders) let it lapse. The lease is this
// holder's again unless another holds it, which is the one error.
func (l *Lease) reclaim(ctx context.Context) error {
	rev, err := l.kv.Create(ctx, l.key, []byte(l.holder))
	if err == nil {
		l.rev = rev
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil // the broker away again: the next tick tries anew
	}
	held, err := l.kv.Get(ctx, l.key)
	switch {
	case err != nil:
		return nil
	case string(held.Value()) == l.holder:
		l.rev = held.Revision()
		return nil
	}
	return fmt.Errorf("lease %s lost: %w by %s", l.key, ErrLeaseHeld, held.Value())
}

// release frees the lease at once, so the next holder need not wait.
func (l *Lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
}
