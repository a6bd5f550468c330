package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"eventually/internal/poll"
	"eventually/pkg/sqlite"
)

type note struct {
	ID   uint64 `gorm:"primaryKey"`
	Text string `gorm:"uniqueIndex;not null"`
}

func openNotes(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "notes.db"), &note{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlite.Close(db) })
	return db
}

func texts(t *testing.T, db *gorm.DB) map[string]bool {
	t.Helper()
	var notes []note
	if err := db.Find(&notes).Error; err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range notes {
		got[n.Text] = true
	}
	return got
}

// grouped runs fns as callers that all wait behind one transaction that
// is held open until they are queued, so they commit as one group. It
// returns each caller's error and how many transactions the group began.
func grouped(t *testing.T, g *sqlite.Group, fns ...func(tx *gorm.DB) error) ([]error, int) {
	t.Helper()
	var began atomic.Int32
	g.Begin = func(*gorm.DB) { began.Add(1) }
	release := make(chan struct{})
	holding := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- g.Transaction(context.Background(), func(*gorm.DB) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	errs := make([]error, len(fns))
	var callers sync.WaitGroup
	for i, fn := range fns {
		callers.Go(func() { errs[i] = g.Transaction(context.Background(), fn) })
	}
	// Each caller is queued once it waits; the group begins after release.
	waitQueued(t, g, len(fns))
	close(release)
	callers.Wait()
	if err := <-first; err != nil {
		t.Fatalf("holding transaction: %v", err)
	}
	return errs, int(began.Load()) - 1
}

func waitQueued(t *testing.T, g *sqlite.Group, n int) {
	t.Helper()
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return sqlite.Waiting(g) == n }) {
		t.Fatalf("%d callers waiting, want %d", sqlite.Waiting(g), n)
	}
}

func insert(text string) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error { return tx.Create(&note{Text: text}).Error }
}

func TestCallersThatWaitCommitInOneTransaction(t *testing.T) {
	db := openNotes(t)
	g := sqlite.NewGroup(db)
	errs, transactions := grouped(t, g, insert("a"), insert("b"), insert("c"))
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if transactions != 1 {
		t.Errorf("%d transactions for three waiting callers, want 1", transactions)
	}
	if got := texts(t, db); len(got) != 3 {
		t.Errorf("stored %v, want a, b and c", got)
	}
}

func TestAFailingCallerIsRolledBackAlone(t *testing.T) {
	db := openNotes(t)
	if err := db.Create(&note{Text: "old"}).Error; err != nil {
		t.Fatal(err)
	}
	g := sqlite.NewGroup(db)
	failing := errors.New("refused")
	errs, _ := grouped(t, g,
		insert("a"),
		func(tx *gorm.DB) error {
			if err := tx.Create(&note{Text: "half done"}).Error; err != nil {
				return err
			}
			return failing
		},
		func(tx *gorm.DB) error { panic("handler bug") },
		insert("old"), // a duplicate: the unique index refuses it
		insert("b"),
	)
	if errs[0] != nil || errs[4] != nil {
		t.Errorf("the good callers failed: %v, %v", errs[0], errs[4])
	}
	if !errors.Is(errs[1], failing) {
		t.Errorf("failing caller got %v, want its own error", errs[1])
	}
	if errs[2] == nil || errs[3] == nil {
		t.Errorf("panicking and duplicate callers got %v and %v, want errors", errs[2], errs[3])
	}
	if got, want := texts(t, db), map[string]bool{"a": true, "b": true, "old": true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

func TestAFailedCommitFailsEveryCallerAndKeepsNothing(t *testing.T) {
	db := openNotes(t)
	// A deferred foreign key is checked at the commit: an orphan row makes
	// the commit itself fail, after every function succeeded.
	if err := db.Exec("CREATE TABLE child (parent INTEGER REFERENCES notes(id) DEFERRABLE INITIALLY DEFERRED)").Error; err != nil {
		t.Fatal(err)
	}
	g := sqlite.NewGroup(db)
	errs, _ := grouped(t, g,
		insert("a"),
		func(tx *gorm.DB) error { return tx.Exec("INSERT INTO child (parent) VALUES (999)").Error },
		insert("b"),
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("caller %d: no error from a commit that failed", i)
		}
	}
	if got := texts(t, db); len(got) != 0 {
		t.Errorf("stored %v after a failed commit, want nothing", got)
	}
}

func TestACallerWhoseContextEndedWhileWaitingChangesNothing(t *testing.T) {
	db := openNotes(t)
	g := sqlite.NewGroup(db)
	release := make(chan struct{})
	holding := make(chan struct{})
	var callers sync.WaitGroup
	callers.Go(func() {
		_ = g.Transaction(context.Background(), func(*gorm.DB) error {
			close(holding)
			<-release
			return nil
		})
	})
	<-holding
	ctx, cancel := context.WithCancel(context.Background())
	var gone, kept error
	callers.Go(func() { gone = g.Transaction(ctx, insert("gone")) })
	waitQueued(t, g, 1)
	callers.Go(func() { kept = g.Transaction(context.Background(), insert("kept")) })
	waitQueued(t, g, 2)
	cancel()
	close(release)
	callers.Wait()
	if !errors.Is(gone, context.Canceled) || kept != nil {
		t.Errorf("got %v and %v, want context.Canceled and nil", gone, kept)
	}
	if got := texts(t, db); !got["kept"] || got["gone"] {
		t.Errorf("stored %v, want kept only", got)
	}
}

// Callers waiting behind a transaction that waits for a database another
// process has locked return as soon as they stop waiting (a service
// stopping), their work not done; the writer commits once the lock goes.
func TestCallersThatStopWaitingLeave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	db, err := sqlite.Open(path, &note{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	other, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(other)
	lock := other.Begin() // BEGIN IMMEDIATE: the write lock, held
	if lock.Error != nil {
		t.Fatal(lock.Error)
	}

	g := sqlite.NewGroup(db)
	first := make(chan error, 1)
	go func() { first <- g.Transaction(context.Background(), insert("first")) }()
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return sqlite.Writing(g) && sqlite.Waiting(g) == 0 }) {
		t.Fatal("the first caller never started writing")
	}
	ctx, stop := context.WithCancel(context.Background())
	waiting := make(chan error, 2)
	for _, text := range []string{"a", "b"} {
		go func() { waiting <- g.Transaction(ctx, insert(text)) }()
	}
	waitQueued(t, g, 2)
	stop()
	deadline := time.After(5 * time.Second) // SQLite's busy timeout is 10 s
	for range 2 {
		select {
		case err := <-waiting:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("a caller that stopped waiting got %v, want context.Canceled", err)
			}
		case <-deadline:
			t.Fatal("callers still waiting 5 s after they stopped")
		}
	}
	if err := lock.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the writer, once the lock went: %v", err)
	}
	if got := texts(t, db); len(got) != 1 || !got["first"] {
		t.Errorf("stored %v, want first only", got)
	}
}
