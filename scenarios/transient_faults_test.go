package scenarios

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver of the lock holder

	"eventually/internal/fulldisk"
	st "eventually/internal/systemtest"
)

// recoveryWait covers a fault's end plus the longest redelivery backoff.
const recoveryWait = 90 * time.Second

// The data dir (every database and the broker's store) is full for 20 s
// while 20 orders are in flight. A full disk is a passing failure: nothing
// is poisoned, and once space is back all 20 are finalized, one charge each.
func TestFullDiskLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a full disk for 20 s")
	}
	disk := fulldisk.Mount(t, 96)
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true, DataDir: filepath.Join(disk.Dir, "data")})
	carts := placeOrders(t, s, 20)
	disk.Fill(t)
	holdFor(20 * time.Second)
	disk.Free(t)
	allFinalizedOnceAndNothingPoisoned(t, s, carts)
}

// Charlie's database is held locked by another connection for 90 s, longer
// than its busy timeout times its attempts, while 20 orders flow. The
// charges wait and are redelivered; nothing is poisoned; once the lock is
// gone all 20 are charged once and finalized.
func TestLockedDatabaseLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a database locked for 90 s")
	}
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	release := lockDatabase(t, filepath.Join(s.DataDir, "charlie.db"))
	carts := placeOrders(t, s, 20)
	holdFor(90 * time.Second)
	release()
	allFinalizedOnceAndNothingPoisoned(t, s, carts)
}

func allFinalizedOnceAndNothingPoisoned(t *testing.T, s *st.System, carts []string) {
	t.Helper()
	st.Eventually(t, recoveryWait, "all 20 carts reopened (orders finalized)", func() bool {
		for _, guid := range carts {
			if getCart(t, s, guid).Status != "open" {
				return false
			}
		}
		return true
	})
	perOrder := map[string]int{}
	for _, c := range charges(t, s) {
		perOrder[c.OrderGUID]++
	}
	for order, n := range perOrder {
		if n != 1 {
			t.Errorf("order %s charged %d times", order, n)
		}
	}
	if len(perOrder) != len(carts) {
		t.Errorf("%d orders charged, want %d", len(perOrder), len(carts))
	}
	if n := s.StreamCount("poison"); n != 0 {
		t.Errorf("%d messages poisoned by a passing fault: %v", n, reasons(s.Messages("poison")))
	}
}

// lockDatabase holds an exclusive lock on the SQLite file at path from
// another connection, as another process would, until release.
func lockDatabase(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

// holdFor keeps a fault in place for d: the fault's length is what the
// test is about, so this is a wait for time itself, not for an effect.
func holdFor(d time.Duration) {
	<-time.After(d)
}

// Each consumer stopped (as by Ctrl-C) and started again while orders
// flow: nothing is poisoned for being interrupted, and every order is
// finalized once. (A message on its way to a stopping consumer comes back
// after the consumer's AckWait, 30 s: the wait is in the recovery.)
func TestShutdownDuringLoadPoisonsNothing(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	var carts []string
	for _, service := range []string{"charlie", "alpha", "beta"} {
		carts = append(carts, placeOrders(t, s, 10)...)
		s.StopService(service)
		s.StartService(service)
	}
	allFinalizedOnceAndNothingPoisoned(t, s, carts)
}
