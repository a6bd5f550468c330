package overlord_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	st "eventually/internal/systemtest"
	"eventually/pkg/sqlite"
	"eventually/services/overlord"
)

// An in-place rebuild (overlord running) swaps the rebuilt view in at
// once: interrupted at random points it leaves the view as it was, and a
// reader never sees the view shrink while it runs. What the consumers
// store during a rebuild is kept.
func TestInterruptedRebuildLeavesTheViewWhole(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"overlord"}})
	const total = 10_000
	publish(t, s.BrokerURL(), total)
	view := openView(t, s.DataDir)
	st.Eventually(t, 60*time.Second, "overlord stores every message", func() bool { return view.count(t) == total })

	// A whole rebuild, while more messages arrive: how long it takes says
	// where to interrupt the next ones.
	arriving := make(chan struct{})
	go func() {
		defer close(arriving)
		publish(t, s.BrokerURL(), 500)
	}()
	start := time.Now()
	r, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL())
	took := time.Since(start)
	<-arriving
	if err != nil || !r.InPlace || r.Messages < total {
		t.Fatalf("rebuild: %+v, %v; want at least %d messages, in place", r, err, total)
	}
	st.Eventually(t, wait, "the messages that arrived meanwhile stored", func() bool {
		return s.Settled("overlord") && view.count(t) == total+500
	})
	const whole = total + 500

	interrupted := 0
	for i := range 6 {
		ctx, cancel := context.WithCancel(context.Background())
		after := time.Duration(rand.Int64N(int64(took)))
		time.AfterFunc(after, cancel)
		var least atomic.Int64
		least.Store(whole)
		watching, watched := make(chan struct{}), make(chan struct{})
		go func() { // the view as readers see it while the rebuild runs
			defer close(watched)
			for {
				if n, err := view.rows(); err != nil || n < least.Load() {
					least.Store(n) // -1 on error
				}
				select {
				case <-watching:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		_, err := overlord.Rebuild(ctx, s.DataDir, s.BrokerURL())
		close(watching)
		<-watched
		cancel()
		if err != nil {
			interrupted++
		}
		if n := view.count(t); n != whole || least.Load() != whole {
			t.Fatalf("rebuild %d, cancelled after %s (%v): the view has %d messages, %d at the least meanwhile; want %d throughout",
				i, after, err, n, least.Load(), whole)
		}
		if view.has("rebuild_messages") {
			t.Fatalf("rebuild %d (%v) left its staging table behind", i, err)
		}
	}
	if interrupted == 0 {
		t.Fatalf("no rebuild was interrupted (a whole one took %s)", took)
	}
	t.Logf("%d of 6 rebuilds interrupted; a whole one took %s", interrupted, took)
}

// storeView reads overlord's store as another reader does.
type storeView struct{ db *gorm.DB }

func openView(t *testing.T, dataDir string) storeView {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(dataDir, overlord.Name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close(db) })
	return storeView{db}
}

// rows counts the messages in the view, -1 with an error.
func (v storeView) rows() (int64, error) {
	var n int64
	if err := v.db.Raw("SELECT COUNT(*) FROM messages").Scan(&n).Error; err != nil {
		return -1, err
	}
	return n, nil
}

func (v storeView) count(t *testing.T) int64 {
	t.Helper()
	n, err := v.rows()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// has tells whether the store has a table of that name.
func (v storeView) has(table string) bool { return v.db.Migrator().HasTable(table) }

// A reset holds through a rebuild: the stream still has the messages from
// before it, and neither an in-place rebuild nor one into a new file
// brings them back; later ones are kept.
func TestRebuildKeepsTheReset(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha", "overlord"}})
	change := func(on bool) {
		st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"discount_enabled": on}), 200)
	}
	view := openView(t, s.DataDir)
	change(true)
	st.Eventually(t, wait, "the first change stored", func() bool { return view.count(t) == 1 })
	st.Must(t, st.Call(t, "POST", s.URL("overlord")+"/api/reset", nil), 200)
	change(false)
	st.Eventually(t, wait, "only the change after the reset stored", func() bool { return view.count(t) == 1 })

	if r, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL()); err != nil || !r.InPlace {
		t.Fatalf("in-place rebuild: %+v %v", r, err)
	}
	if n := view.count(t); n != 1 {
		t.Fatalf("after an in-place rebuild the view has %d messages, want the 1 after the reset", n)
	}
	s.StopService("overlord")
	if r, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL()); err != nil || r.InPlace {
		t.Fatalf("rebuild into a new file: %+v %v", r, err)
	}
	fresh := openView(t, s.DataDir)
	if n := fresh.count(t); n != 1 {
		t.Fatalf("after a rebuild into a new file the view has %d messages, want the 1 after the reset", n)
	}
}
