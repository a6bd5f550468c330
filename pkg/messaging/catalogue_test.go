package messaging

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"eventually/pkg/events"
	"eventually/pkg/logging"
	"eventually/pkg/sqlite"
)

// unstartedBus is a bus on a fresh database that has not run, and needs
// no broker for its transactions.
func unstartedBus(t *testing.T, service string) *Bus {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), service+".db"), Models()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close(db) })
	b, err := New(Config{Service: service, BrokerURL: "nats://127.0.0.1:1", Store: GormStore{DB: db},
		Logger: logging.Discard(), Catalogue: testCatalogue})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A handler for an event the catalogue does not list the service as
// consuming is a start-up error, before anything reaches the broker.
func TestHandlerNotInCatalogueFailsStart(t *testing.T) {
	b := unstartedBus(t, "producer")
	Handle(b, func(context.Context, *Tx, *events.SettingsChanged) error { return nil })
	err := b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not list it as a consumer") {
		t.Fatalf("Run: %v, want a start-up error naming the unlisted handler", err)
	}
}

// An event the catalogue lists the service as consuming, without a
// handler, is a start-up error too.
func TestCatalogueConsumerWithoutHandlerFailsStart(t *testing.T) {
	b := unstartedBus(t, "consumer")
	err := b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "has no handler") {
		t.Fatalf("Run: %v, want a start-up error naming the missing handler", err)
	}
}

// Only the catalogue's producer of an event may publish it; the refused
// transaction commits nothing.
func TestOnlyTheProducerPublishes(t *testing.T) {
	b := unstartedBus(t, "consumer")
	err := b.Transaction(context.Background(), func(tx *Tx) error {
		return tx.Publish(&events.SettingsChanged{Settings: events.Settings{GUID: "g", Version: 1}})
	})
	if err == nil || !strings.Contains(err.Error(), `names its producer "producer"`) {
		t.Fatalf("publish by a consumer: %v, want refused", err)
	}
	if rows, _ := b.cfg.Store.Unpublished(context.Background(), 10); len(rows) != 0 {
		t.Fatalf("%d outbox rows after a refused publish", len(rows))
	}
}

// The events of one transaction without a request ID share the one made
// up for it, and the producer's transaction needs no broker.
func TestOneRequestIDPerTransaction(t *testing.T) {
	b := unstartedBus(t, "producer")
	err := b.Transaction(context.Background(), func(tx *Tx) error {
		for v := int64(1); v <= 2; v++ {
			if err := tx.Publish(&events.SettingsChanged{Settings: events.Settings{GUID: "g", Version: v}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := b.cfg.Store.Unpublished(context.Background(), 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("outbox: %d rows, %v; want 2", len(rows), err)
	}
	ids := map[string]bool{}
	for _, r := range rows {
		ids[correlationOf(t, r)] = true
	}
	if len(ids) != 1 {
		t.Fatalf("two events of one transaction carry request IDs %v, want one", ids)
	}
}

func correlationOf(t *testing.T, row OutboxMessage) string {
	t.Helper()
	var md map[string]string
	if err := json.Unmarshal([]byte(row.Metadata), &md); err != nil {
		t.Fatal(err)
	}
	if md[CorrelationIDKey] == "" {
		t.Fatalf("outbox row %s has no %s", row.UUID, CorrelationIDKey)
	}
	return md[CorrelationIDKey]
}

// Every message carries the instance of the producer that wrote it.
func TestMessagesNameTheirInstance(t *testing.T) {
	b := unstartedBus(t, "producer")
	b.cfg.Instance = "producer-host-42"
	err := b.Transaction(context.Background(), func(tx *Tx) error {
		return tx.Publish(&events.SettingsChanged{Settings: events.Settings{GUID: "g", Version: 1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := b.cfg.Store.Unpublished(context.Background(), 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("outbox: %d rows, %v", len(rows), err)
	}
	var md map[string]string
	if err := json.Unmarshal([]byte(rows[0].Metadata), &md); err != nil {
		t.Fatal(err)
	}
	if md[InstanceKey] != "producer-host-42" {
		t.Fatalf("metadata %v: want %s producer-host-42", md, InstanceKey)
	}
}
