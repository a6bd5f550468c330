package load

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// finalized is one order.finalized as the watcher saw it.
type finalized struct {
	OrderGUID string
	At        time.Time
}

// watcher follows the stream from outside the services: it counts every
// message the run causes, and tells each customer when the order of its
// cart is finalized. Watching the broker costs the services nothing,
// where polling their HTTP APIs would compete with the orders for their
// one SQLite connection.
type watcher struct {
	carts map[string]chan finalized // cart guid -> its customer; fixed before start

	messages    atomic.Int64
	payloadSize atomic.Int64
	finalizedN  atomic.Int64

	mu       sync.Mutex
	orders   map[string]int            // order guid -> order.finalized messages seen
	samples  map[string]stream.Message // topic -> its first message
	lastSeen time.Time
}

func newWatcher(carts []string) *watcher {
	w := &watcher{carts: make(map[string]chan finalized, len(carts)), orders: map[string]int{}, samples: map[string]stream.Message{}}
	for _, c := range carts {
		w.carts[c] = make(chan finalized, 4)
	}
	return w
}

// start subscribes; messages published after it returns are all seen.
func (w *watcher) start(ctx context.Context, brokerURL string) (stop func(), err error) {
	return stream.Tail(ctx, brokerURL, stream.Topics(), w.see)
}

func (w *watcher) see(m stream.Message) {
	now := time.Now()
	w.messages.Add(1)
	w.payloadSize.Add(int64(len(m.Payload)))
	w.mu.Lock()
	if _, ok := w.samples[m.Topic]; !ok {
		w.samples[m.Topic] = m
	}
	w.mu.Unlock()
	if m.Topic != events.NameOrderFinalized {
		return
	}
	var ev events.OrderFinalized
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return // the services would poison it; the check will miss the order
	}
	ch, ours := w.carts[ev.CartGUID]
	if !ours {
		return
	}
	w.mu.Lock()
	w.orders[ev.OrderGUID]++
	w.lastSeen = now
	w.mu.Unlock()
	w.finalizedN.Add(1)
	select {
	case ch <- finalized{OrderGUID: ev.OrderGUID, At: now}:
	default: // a duplicate nobody waits for; the check reports it
	}
}

// finalizedOrders is how often each order was finalized.
func (w *watcher) finalizedOrders() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.orders))
	for k, v := range w.orders {
		out[k] = v
	}
	return out
}

// averagePayload is the mean payload size of the messages seen.
func (w *watcher) averagePayload() int {
	n := w.messages.Load()
	if n == 0 {
		return 0
	}
	return int(w.payloadSize.Load() / n)
}

// sampled is one message of each topic seen, in topic order.
func (w *watcher) sampled() []stream.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]stream.Message, 0, len(w.samples))
	for _, topic := range stream.Topics() {
		if m, ok := w.samples[topic]; ok {
			out = append(out, m)
		}
	}
	return out
}
