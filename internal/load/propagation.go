package load

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// versioned is the part of every settings answer the measurement reads.
type versioned struct {
	Version       int64 `json:"version"`
	DiscountCents int64 `json:"discount_cents"`
}

// propagation changes alpha's settings n times and measures, for each
// change, the time from sending the PUT until both beta's and charlie's
// copies show its version, polling every pollEvery.
func propagation(ctx context.Context, c *client, svc Targets, n int, pollEvery time.Duration) ([]time.Duration, error) {
	var current versioned
	if err := c.call(ctx, http.MethodGet, svc.Alpha+"/api/settings", "", nil, &current); err != nil {
		return nil, fmt.Errorf("propagation: %w", err)
	}
	// Putting the discount amount it already has changes nothing an order
	// sees, and still bumps the version and publishes settings.changed.
	change := map[string]int64{"discount_cents": current.DiscountCents}
	took := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		var updated versioned
		id := fmt.Sprintf("load-settings-%d", i)
		if err := c.call(ctx, http.MethodPut, svc.Alpha+"/api/settings", id, change, &updated); err != nil {
			return nil, fmt.Errorf("propagation: %w", err)
		}
		for _, copyOf := range append(svc.instances("beta"), svc.instances("charlie")...) {
			if err := waitVersion(ctx, c, copyOf+"/api/settings", updated.Version, pollEvery); err != nil {
				return nil, fmt.Errorf("propagation of version %d: %w", updated.Version, err)
			}
		}
		took = append(took, time.Since(start))
	}
	return took, nil
}

// waitVersion polls a settings copy until it holds version or newer.
func waitVersion(ctx context.Context, c *client, url string, version int64, pollEvery time.Duration) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got versioned
		if err := c.call(ctx, http.MethodGet, url, "", nil, &got); err != nil {
			return err
		}
		if got.Version >= version {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still at version %d after 10s", url, got.Version)
		}
		if !sleep(ctx, pollEvery) {
			return ctx.Err()
		}
	}
}
