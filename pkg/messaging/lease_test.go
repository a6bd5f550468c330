package messaging

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eventually/pkg/logging"
	"eventually/pkg/sqlite"
	"eventually/pkg/stream"
)

// fileStore is a store of one instance's own file, as SQLite's is.
type fileStore struct{ GormStore }

func (fileStore) OneInstance() bool { return true }

func fileBus(t *testing.T, brokerURL, dbPath, instance string) *Bus {
	t.Helper()
	db, err := sqlite.Open(dbPath, Models()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close(db) })
	b, err := New(Config{Service: "producer", Instance: instance, BrokerURL: brokerURL, Store: fileStore{GormStore{DB: db}},
		Logger: logging.Discard(), Catalogue: testCatalogue})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A second instance of a service whose store is a file of its own refuses
// to run beside the first, whatever its file, saying why; once the first
// stops, a new one runs at once.
func TestSecondInstanceWithItsOwnFileIsRefused(t *testing.T) {
	dir, broker := startTestBroker(t)
	first := fileBus(t, broker.URL(), filepath.Join(dir, "one.db"), "producer-1")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	waitFor(t, "the first instance ready", ready(first))

	second := fileBus(t, broker.URL(), filepath.Join(dir, "two.db"), "producer-2")
	err := second.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another instance of producer runs on this broker") || !strings.Contains(err.Error(), "producer-1") {
		t.Fatalf("second instance: %v, want refused, naming the first", err)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	third := fileBus(t, broker.URL(), filepath.Join(dir, "three.db"), "producer-3")
	ctx3, stop3 := context.WithCancel(context.Background())
	defer stop3()
	started := time.Now()
	go func() { _ = third.Run(ctx3) }()
	waitFor(t, "a new instance after the first stopped", ready(third))
	if took := time.Since(started); took >= stream.LeaseTTL {
		t.Errorf("a new instance waited %s, as for a lease that lapsed, not one released on stop", took)
	}
}
