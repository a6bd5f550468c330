package messaging_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"eventually/internal/pgtest"
	"eventually/internal/poll"
	"eventually/pkg/messaging"
	"eventually/pkg/messaging/postgresstore"
	"eventually/pkg/postgres"
	"eventually/pkg/stream"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// published counts what relays publish, by message UUID, however many
// relays publish with it.
type published struct {
	mu   sync.Mutex
	seen map[string]int
}

func (p *published) publish(_ context.Context, msgs []stream.Message) []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		p.seen[m.UUID]++
	}
	return make([]error, len(msgs))
}

func (p *published) distinct() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// openShared opens one service's schema on Postgres as n instances do:
// a connection pool and a store each.
func openShared(t *testing.T, url string, n int) []*postgresstore.Store {
	t.Helper()
	var stores []*postgresstore.Store
	for range n {
		db, err := postgres.Open(context.Background(), url, "producer", messaging.Models()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { postgres.Close(db) })
		stores = append(stores, postgresstore.New(db))
	}
	return stores
}

// Two instances' relays share one outbox on Postgres while writers of
// both commit, in transactions of one to three messages that commit out
// of ID order: every message is published exactly once, none is skipped,
// and every row ends marked published.
func TestTwoRelaysOnOneOutboxPublishEachMessageOnce(t *testing.T) {
	const writers, perWriter = 8, 60
	stores := openShared(t, pgtest.Start(t), 2)
	broker := &published{seen: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var relays sync.WaitGroup
	var wake []func()
	for _, s := range stores {
		r := messaging.NewTestRelay(s, broker.publish)
		wake = append(wake, r.Wake)
		relays.Go(func() { r.Run(ctx) })
	}
	var written sync.WaitGroup
	total := 0
	for w := range writers {
		n := 0
		for i := 0; i < perWriter; i += 1 + i%3 {
			n += 1 + i%3
		}
		total += n
		written.Go(func() {
			store := stores[w%len(stores)]
			for i := 0; i < perWriter; i += 1 + i%3 {
				err := store.Transaction(context.Background(), func(tx *gorm.DB) error {
					for j := range 1 + i%3 {
						msg := messaging.OutboxMessage{UUID: fmt.Sprintf("w%d-%d-%d", w, i, j), Topic: "t",
							Payload: []byte("{}"), Metadata: "{}", CreatedAt: time.Now()}
						if err := store.AddToOutbox(tx, msg); err != nil {
							return err
						}
					}
					// A transaction of some length, so that commits interleave
					// and IDs commit out of order: a read of the outbox, as
					// much as the rows written so far.
					var n int64
					return tx.Model(&messaging.OutboxMessage{}).Count(&n).Error
				})
				if err != nil {
					t.Error(err)
					return
				}
				wake[rand.IntN(len(wake))]()
			}
		})
	}
	written.Wait()
	all := poll.Until(20*time.Second, 5*time.Millisecond, func() bool { return broker.distinct() >= total })
	cancel()
	relays.Wait()
	if !all {
		t.Fatalf("published %d of %d messages", broker.distinct(), total)
	}
	for uuid, n := range broker.seen {
		if n != 1 {
			t.Errorf("%s published %d times", uuid, n)
		}
	}
	if len(broker.seen) != total {
		t.Errorf("published %d distinct messages, %d were written", len(broker.seen), total)
	}
	if rows, err := stores[0].Unpublished(context.Background(), total); err != nil || len(rows) != 0 {
		t.Errorf("%d rows left unpublished (%v)", len(rows), err)
	}
}

// A message the broker will never take, claimed by a relay, is set aside
// within the claim (a set-aside from outside would wait for the claim's
// own row lock), and the messages behind it are published.
func TestClaimedUnpublishableMessageIsSetAside(t *testing.T) {
	store := openShared(t, pgtest.Start(t), 1)[0]
	err := store.Transaction(context.Background(), func(tx *gorm.DB) error {
		for _, uuid := range []string{"huge", "behind"} {
			msg := messaging.OutboxMessage{UUID: uuid, Topic: "t", Payload: []byte("{}"), Metadata: "{}", CreatedAt: time.Now()}
			if err := store.AddToOutbox(tx, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	broker := &published{seen: map[string]int{}}
	refuse := func(ctx context.Context, msgs []stream.Message) []error {
		errs := make([]error, len(msgs))
		var ok []stream.Message
		for i, m := range msgs {
			if m.UUID == "huge" {
				errs[i] = fmt.Errorf("%w: too big", stream.ErrUnpublishable)
			} else {
				ok = append(ok, m)
			}
		}
		broker.publish(ctx, ok)
		return errs
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := messaging.NewTestRelay(store, refuse)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	var row messaging.OutboxMessage
	setAside := poll.Until(10*time.Second, 10*time.Millisecond, func() bool {
		return store.DB.Where("uuid = ?", "huge").First(&row).Error == nil && row.SetAsideReason != ""
	})
	cancel()
	<-done
	if !setAside {
		t.Fatal("the unpublishable message was not set aside")
	}
	if broker.seen["behind"] != 1 || broker.seen["huge"] != 0 {
		t.Fatalf("published %v: want the message behind, once", broker.seen)
	}
	if rows, err := store.Unpublished(context.Background(), 10); err != nil || len(rows) != 0 {
		t.Fatalf("%d rows left for the relay (%v)", len(rows), err)
	}
}
