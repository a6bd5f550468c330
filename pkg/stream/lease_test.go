package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"eventually/internal/poll"
)

// A lease whose key vanished while its holder could not renew it (an
// outage longer than LeaseTTL) is taken again by its holder, who goes
// on; a lease another holder took meanwhile is lost, and Keep says so.
func TestKeepReclaimsALapsedLeaseOnly(t *testing.T) {
	nc := embeddedBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lease, err := TakeLease(ctx, nc, "charlie", "charlie-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	kept := make(chan error, 1)
	go func() { kept <- lease.Keep(ctx) }()
	holder := func() string {
		entry, err := lease.kv.Get(ctx, "charlie")
		if err != nil {
			return ""
		}
		return string(entry.Value())
	}

	if err := lease.kv.Purge(ctx, "charlie"); err != nil { // as when it lapses
		t.Fatal(err)
	}
	if !poll.Until(2*LeaseTTL, 50*time.Millisecond, func() bool { return holder() == "charlie-1" }) {
		t.Fatal("the holder did not take its lapsed lease again")
	}
	select {
	case err := <-kept:
		t.Fatalf("Keep ended after the lease lapsed: %v", err)
	default:
	}

	if _, err := lease.kv.Put(ctx, "charlie", []byte("charlie-2")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-kept:
		if !errors.Is(err, ErrLeaseHeld) {
			t.Fatalf("Keep: %v, want the lease held by another", err)
		}
	case <-time.After(2 * LeaseTTL):
		t.Fatal("Keep went on while another holder had the lease")
	}
	if got := holder(); got != "charlie-2" {
		t.Fatalf("the lease is %q's, want the other holder's", got)
	}
}
