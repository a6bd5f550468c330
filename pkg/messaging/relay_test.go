package messaging

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"eventually/internal/poll"
	"eventually/pkg/logging"
	"eventually/pkg/stream"
)

// outboxDouble is an outbox whose IDs are taken when a row is written and
// become visible only when its transaction commits, as on Postgres or
// MySQL: a lower ID can commit after a higher one.
type outboxDouble struct {
	Store     // the inbox and transactions are not used here
	mu        sync.Mutex
	nextID    uint64
	committed []OutboxMessage
	published map[uint64]bool
}

func newOutboxDouble() *outboxDouble { return &outboxDouble{published: map[uint64]bool{}} }

// reserve writes a row in a transaction that has not committed yet.
func (o *outboxDouble) reserve() OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nextID++
	return OutboxMessage{ID: o.nextID, UUID: fmt.Sprintf("m-%d", o.nextID), Topic: "t", Metadata: "{}"}
}

func (o *outboxDouble) commit(m OutboxMessage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.committed = append(o.committed, m)
}

func (o *outboxDouble) Unpublished(_ context.Context, limit int) ([]OutboxMessage, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OutboxMessage
	for _, m := range o.committed {
		if !o.published[m.ID] {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b OutboxMessage) int { return int(a.ID) - int(b.ID) })
	return out[:min(limit, len(out))], nil
}

func (o *outboxDouble) MarkPublished(_ context.Context, ids []uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		o.published[id] = true
	}
	return nil
}

// brokerDouble counts what the relay publishes, by UUID.
type brokerDouble struct {
	mu   sync.Mutex
	seen map[string]int
}

func (b *brokerDouble) publish(msgs []stream.Message) ([]bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	stored := make([]bool, len(msgs))
	for i, m := range msgs {
		b.seen[m.UUID]++
		stored[i] = true
	}
	return stored, nil
}

func (b *brokerDouble) counts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.seen)
}

// Two writers take IDs 1 and 2; 2 commits and is relayed first, then 1
// commits. A relay that keeps a cursor on the ID would skip 1 for good.
func TestRelayPublishesALowerIDThatCommitsLate(t *testing.T) {
	ctx := context.Background()
	outbox, broker := newOutboxDouble(), &brokerDouble{seen: map[string]int{}}
	r := newRelay(outbox, logging.Discard())
	r.publish = broker.publish

	early, late := outbox.reserve(), outbox.reserve()
	outbox.commit(late)
	relayAll(t, r)
	outbox.commit(early)
	relayAll(t, r)
	relayAll(t, r) // nothing new: nothing published again

	if got := broker.counts(); len(got) != 2 || got[early.UUID] != 1 || got[late.UUID] != 1 {
		t.Fatalf("published %v, want %s and %s once each", got, early.UUID, late.UUID)
	}
	if err := r.mark(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, _ := outbox.Unpublished(ctx, 10); len(rows) != 0 {
		t.Fatalf("%d rows left unmarked", len(rows))
	}
}

// relayAll runs the relay's batches until nothing is left.
func relayAll(t *testing.T, r *relay) {
	t.Helper()
	for {
		full, err := r.relayBatch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !full {
			return
		}
	}
}

// Many writers commit in random order while the relay runs: every message
// is published exactly once.
func TestRelayWithConcurrentWritersPublishesEachOnce(t *testing.T) {
	const writers, perWriter = 8, 200
	outbox, broker := newOutboxDouble(), &brokerDouble{seen: map[string]int{}}
	r := newRelay(outbox, logging.Discard())
	r.publish = broker.publish
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range perWriter {
				m := outbox.reserve()
				for range rand.IntN(50) { // a transaction of some length
					runtime.Gosched()
				}
				outbox.commit(m)
				r.Wake()
			}
		})
	}
	wg.Wait()
	all := poll.Until(10*time.Second, time.Millisecond, func() bool { return len(broker.counts()) == writers*perWriter })
	cancel()
	<-done
	if !all {
		t.Fatalf("published %d of %d messages", len(broker.counts()), writers*perWriter)
	}
	for uuid, n := range broker.counts() {
		if n != 1 {
			t.Errorf("%s published %d times", uuid, n)
		}
	}
	if rows, _ := outbox.Unpublished(context.Background(), writers*perWriter); len(rows) != 0 {
		t.Errorf("%d rows left unmarked after the relay stopped", len(rows))
	}
}
