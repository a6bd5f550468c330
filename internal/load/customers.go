package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// customer is one cart and the orders submitted from it, one at a time.
type customer struct {
	cart     string
	beta     string          // the beta instance the cart is on
	accepted int             // submits answered 202
	latency  []time.Duration // submit -> order.finalized seen on the stream
	retries  int             // submits answered 409 while beta reopened the cart
	err      error           // why it stopped early, if it did
}

// orders is the shared state of the customers during the order phase.
type orders struct {
	svc      Targets
	client   *client
	watch    *watcher
	total    int
	next     atomic.Int64 // orders handed out
	pace     <-chan time.Time
	timeout  time.Duration
	firstMu  sync.Mutex
	firstAt  time.Time
	product  string
	priceCts int64
}

// newCart opens a cart on beta for one customer.
func newCart(ctx context.Context, c *client, beta string) (string, error) {
	var cart struct {
		GUID string `json:"guid"`
	}
	if err := c.call(ctx, http.MethodPost, beta+"/api/carts", "", nil, &cart); err != nil {
		return "", fmt.Errorf("open a cart: %w", err)
	}
	return cart.GUID, nil
}

// drive submits orders from cu's cart until all orders are handed out.
func (o *orders) drive(ctx context.Context, cu *customer) {
	finalizedCh := o.watch.carts[cu.cart]
	for {
		i := o.next.Add(1)
		if i > int64(o.total) {
			return
		}
		if o.pace != nil {
			select {
			case <-o.pace:
			case <-ctx.Done():
				cu.err = ctx.Err()
				return
			}
		}
		sent, err := o.submit(ctx, cu, fmt.Sprintf("load-%s-%d", cu.cart, i))
		if err != nil {
			cu.err = err
			return
		}
		select {
		case f := <-finalizedCh:
			cu.latency = append(cu.latency, f.At.Sub(sent))
		case <-time.After(o.timeout):
			cu.err = fmt.Errorf("cart %s: order %d not finalized after %s", cu.cart, i, o.timeout)
			return
		case <-ctx.Done():
			cu.err = ctx.Err()
			return
		}
	}
}

// submit loads the form and submits it, retrying while beta has not yet
// reopened the cart after the previous order's order.finalized. It
// returns when the accepted submit was sent.
func (o *orders) submit(ctx context.Context, cu *customer, requestID string) (time.Time, error) {
	cartURL := cu.beta + "/api/carts/" + cu.cart
	body := map[string]any{"product": o.product, "price_cents": o.priceCts}
	for {
		if err := o.client.call(ctx, http.MethodPost, cartURL+"/load", requestID, nil, nil); err != nil {
			return time.Time{}, err
		}
		sent := time.Now()
		err := o.client.call(ctx, http.MethodPost, cartURL+"/submit", requestID, body, nil)
		var status *statusError
		switch {
		case err == nil:
			cu.accepted++
			o.firstMu.Lock()
			if o.firstAt.IsZero() || sent.Before(o.firstAt) {
				o.firstAt = sent
			}
			o.firstMu.Unlock()
			return sent, nil
		case errors.As(err, &status) && status.Status == http.StatusConflict:
			cu.retries++
			if !sleep(ctx, time.Millisecond) {
				return time.Time{}, ctx.Err()
			}
		default:
			return time.Time{}, err
		}
	}
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	wait, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	<-wait.Done()
	return ctx.Err() == nil
}

// pacer hands out one token per 1/rate seconds; nil means no limit.
func pacer(ctx context.Context, rate float64) <-chan time.Time {
	if rate <= 0 {
		return nil
	}
	tokens := make(chan time.Time)
	go func() {
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for {
			if d := time.Until(next); d > 0 && !sleep(ctx, d) {
				return
			}
			select {
			case tokens <- next:
			case <-ctx.Done():
				return
			}
			next = next.Add(interval)
		}
	}()
	return tokens
}
