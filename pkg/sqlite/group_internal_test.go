package sqlite

import (
	"context"
	"testing"
)

// A caller woken to write the next group that leaves instead hands that
// on: to the next waiting caller, or nobody writes.
func TestTheNextWriterLeaving(t *testing.T) {
	g := NewGroup(nil)
	a := &member{ctx: context.Background(), wake: make(chan struct{}, 1)}
	b := &member{ctx: context.Background(), wake: make(chan struct{}, 1)}
	g.waiting, g.writing = []*member{a, b}, true
	g.wakeNext()
	if g.next != a || len(a.wake) != 1 {
		t.Fatal("a is not woken to write")
	}
	if !g.leave(a) {
		t.Fatal("a was waiting, yet did not leave")
	}
	if g.next != b || len(b.wake) != 1 || !g.writing {
		t.Fatalf("after a left: next %p (b %p), b woken %d, writing %v; want b woken to write", g.next, b, len(b.wake), g.writing)
	}
	if !g.leave(b) {
		t.Fatal("b was waiting, yet did not leave")
	}
	if g.writing || g.next != nil || len(g.waiting) != 0 {
		t.Fatalf("after both left: writing %v, next %p, %d waiting; want nobody", g.writing, g.next, len(g.waiting))
	}
	if g.leave(a) {
		t.Fatal("a left twice")
	}
}
