package postgresstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"eventually/internal/pgtest"
	"eventually/internal/poll"
	"eventually/pkg/messaging"
	"eventually/pkg/messaging/postgresstore"
	"eventually/pkg/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Two instances handle the same message at once: the second's inbox
// insert waits for the first's transaction and, once it commits, records
// nothing; a duplicate, not an error.
func TestConcurrentDuplicateIsDroppedNotAnError(t *testing.T) {
	url := pgtest.Start(t)
	var stores []*postgresstore.Store
	for range 2 {
		db, err := postgres.Open(context.Background(), url, "consumer", messaging.Models()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { postgres.Close(db) })
		stores = append(stores, postgresstore.New(db))
	}
	firstInserted, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- stores[0].Transaction(context.Background(), func(tx *gorm.DB) error {
			first, err := stores[0].FirstDelivery(tx, "consumer on t", "message-1")
			if err != nil || !first {
				t.Errorf("first instance: first=%v err=%v, want the first delivery", first, err)
			}
			close(firstInserted)
			<-release // the effect takes a while; the duplicate arrives meanwhile
			return nil
		})
	}()
	<-firstInserted
	type result struct {
		first bool
		err   error
	}
	second := make(chan result, 1)
	go func() {
		var r result
		r.err = stores[1].Transaction(context.Background(), func(tx *gorm.DB) error {
			var err error
			r.first, err = stores[1].FirstDelivery(tx, "consumer on t", "message-1")
			return err
		})
		second <- r
	}()
	// The duplicate waits on the first's uncommitted key, as it should.
	waiting := poll.Until(10*time.Second, 10*time.Millisecond, func() bool {
		var n int64
		stores[0].DB.Raw("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").Scan(&n)
		return n > 0
	})
	select {
	case r := <-second:
		t.Fatalf("the duplicate did not wait for the first transaction: %+v", r)
	default:
	}
	if !waiting {
		t.Fatal("the duplicate's insert never waited for the first transaction")
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil || r.first {
		t.Fatalf("second instance: first=%v err=%v, want a duplicate without error", r.first, r.err)
	}
}

// Any number of instances share the store: it takes no lease on the
// broker (messaging.OneInstance), unlike a SQLite file's.
func TestSharedStoreTakesNoLease(t *testing.T) {
	var store messaging.Store = postgresstore.New(nil)
	if one, ok := store.(messaging.OneInstance); ok && one.OneInstance() {
		t.Fatal("the Postgres store asks for one instance per service")
	}
	if _, ok := store.(messaging.Claimer); !ok {
		t.Fatal("the Postgres store lets relays publish a row twice: it claims no rows")
	}
}
