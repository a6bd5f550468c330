package sqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Group commits the transactions of concurrent callers together: while
// one SQLite transaction is being written, the transactions that arrive
// wait, and the next of them runs them all, one after the other, in one
// SQLite transaction with a savepoint around each. Each caller returns
// only after the commit that holds its work, with its own error: a
// function that fails is rolled back to its savepoint alone, and a commit
// that fails fails every caller in it, none of whose work is kept.
//
// A commit costs as much for one caller as for fifty (the WAL frames of
// the pages they share: the last leaves of the inbox, the outbox and the
// tables' indexes), so under load, when callers queue, the cost per
// transaction falls; with one caller at a time it is gorm's Transaction.
// docs/performance.md gives the measured gain.
//
// Why not a goroutine that owns the connection: there would be one more
// thing to start and stop. Here the first caller to find nobody writing
// writes, and hands that role on to a waiting caller after its commit,
// so no caller writes for others longer than one group.
//
// It relies on the database having one connection (Open): a group runs
// the functions one by one, so each sees the work of those before it, as
// it would after their commits.
type Group struct {
	db *gorm.DB
	// Begin, when set, runs first in every transaction, e.g. to give it
	// prepared statements.
	Begin func(tx *gorm.DB)
	// Linger is how long a writer waits for more callers before it
	// writes: for callers to whom a few milliseconds more do not matter,
	// such as a view of the stream, it makes the groups much larger.
	// Zero: no wait.
	Linger time.Duration

	mu      sync.Mutex
	waiting []*member
	writing bool
	next    *member // woken to write the next group, not writing yet
}

// maxGroup bounds a group, and so how long one caller writes for others.
const maxGroup = 64

type member struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	err  error
	done bool          // err is the outcome; else woken to write the next group
	wake chan struct{} // one send: done, or write the next group
}

// NewGroup groups the transactions of db.
func NewGroup(db *gorm.DB) *Group { return &Group{db: db} }

// Transaction runs fn in a transaction of the database, with the
// transactions of other callers waiting at the same time, and returns
// after its commit (or with fn's error, fn's work rolled back). A caller
// whose ctx ends while it waits returns at once, its fn not run.
func (g *Group) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	m := &member{ctx: ctx, fn: fn, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, m)
	write := !g.writing
	g.writing = true
	g.mu.Unlock()
	if !write {
		select {
		case <-m.wake:
		case <-ctx.Done():
			if g.leave(m) {
				return ctx.Err()
			}
			<-m.wake // a group holds it already: it skips fn and says so
		}
		if m.done {
			return m.err
		}
	}
	if g.Linger > 0 {
		time.Sleep(g.Linger)
	}
	g.mu.Lock()
	g.next = nil
	n := min(len(g.waiting), maxGroup)
	group := g.waiting[:n:n]
	g.waiting = g.waiting[n:]
	g.mu.Unlock()
	defer g.handOver(group, m)
	g.commit(group)
	return m.err
}

// handOver wakes the next writer, if anyone waits, and the group's
// other callers with their outcome.
func (g *Group) handOver(group []*member, writer *member) {
	g.mu.Lock()
	g.wakeNext()
	g.mu.Unlock()
	for _, o := range group {
		if o != writer {
			o.done = true
			o.wake <- struct{}{}
		}
	}
}

// wakeNext makes the first waiting caller the writer of the next group,
// or ends the writing if nobody waits. Called with g.mu held.
func (g *Group) wakeNext() {
	if len(g.waiting) == 0 {
		g.writing, g.next = false, nil
		return
	}
	g.next = g.waiting[0]
	g.next.wake <- struct{}{}
}

// leave takes a caller who stopped waiting out of the queue, and reports
// whether it was still there (no group has it). Were it woken to write
// the next group, the next caller writes it instead.
func (g *Group) leave(m *member) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.Index(g.waiting, m)
	if i < 0 {
		return false
	}
	g.waiting = slices.Delete(g.waiting, i, i+1)
	if g.next == m {
		g.wakeNext()
	}
	return true
}

// commit runs the group's functions in one transaction and sets each
// member's err: its function's error, else the transaction's.
func (g *Group) commit(group []*member) {
	for _, m := range group {
		m.err = errNotCommitted // until the commit says otherwise
	}
	if len(group) == 1 {
		m := group[0]
		var fnErr error
		err := g.db.WithContext(m.ctx).Transaction(func(tx *gorm.DB) error {
			g.begin(tx)
			fnErr = run(m.fn, tx)
			return fnErr
		})
		m.err = cmp.Or(fnErr, err)
		return
	}
	// No one caller's context ends the others' transaction; each
	// function's statements run with its caller's.
	ctx, stop := groupContext(group)
	defer stop()
	fnErrs := make([]error, len(group))
	err := g.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		g.begin(tx)
		for i, m := range group {
			if fnErrs[i] = m.ctx.Err(); fnErrs[i] != nil {
				continue
			}
			if err := exec(tx, "SAVEPOINT member"); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if fnErrs[i] = run(m.fn, tx.WithContext(m.ctx)); fnErrs[i] != nil {
				if err := exec(tx, "ROLLBACK TO member"); err != nil {
					return fmt.Errorf("roll back to savepoint: %w", err)
				}
			}
			if err := exec(tx, "RELEASE member"); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	for i, m := range group {
		m.err = cmp.Or(fnErrs[i], err)
	}
}

// groupContext is the context of a group's transaction: it ends when
// every caller's context has ended. Then nobody waits for the outcome,
// and the transaction is given up (database/sql rolls back a transaction
// whose context ends) rather than finished for nobody.
func groupContext(group []*member) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(group[0].ctx))
	var waiting atomic.Int32
	waiting.Store(int32(len(group)))
	stops := make([]func() bool, len(group))
	for i, m := range group {
		stops[i] = context.AfterFunc(m.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// errNotCommitted is the outcome of a caller whose group ended before
// its commit (a panic outside the callers' functions).
var errNotCommitted = errors.New("transaction not committed")

// exec runs a statement of the group's own on the transaction's
// connection, without gorm building it: a group runs three per member.
func exec(tx *gorm.DB, statement string) error {
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, statement)
	return err
}

func (g *Group) begin(tx *gorm.DB) {
	if g.Begin != nil {
		g.Begin(tx)
	}
}

// run calls fn, turning a panic into its error: the group's other
// callers must still get their outcome, and the next group its writer.
func run(fn func(tx *gorm.DB) error, tx *gorm.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in transaction: %v", r)
		}
	}()
	return fn(tx)
}
