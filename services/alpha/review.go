package alpha

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"eventually/pkg/domain"
	"eventually/pkg/messaging"
	"eventually/pkg/requestid"
	"eventually/pkg/service"
)

// DefaultReviewTimeout is how long an order may wait in review before
// the review timer passes it.
const DefaultReviewTimeout = time.Minute

// reviewTimerEvery is how often the review timer looks for orders
// waiting longer than the timeout.
const reviewTimerEvery = time.Second

// FinishReview passes the review of an order by hand: the order is done.
func (p *Processing) FinishReview(ctx context.Context, guid string) (Order, error) {
	var o Order
	err := p.bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		// Locked: the review timer of another instance may pass it now.
		if o, err = findOrder(service.ForUpdate(tx.DB), guid); err != nil {
			return err
		}
		if o.Status != StatusInReview {
			return fmt.Errorf("order is %s, not in review: %w", o.Status, domain.ErrConflict)
		}
		return p.finalize(tx, &o, "reviewed")
	})
	if err != nil {
		return Order{}, fmt.Errorf("finish review of order %s: %w", guid, err)
	}
	return o, nil
}

// finalize marks an order done and publishes order.finalized, saying why
// it is done in the log.
func (p *Processing) finalize(tx *messaging.Tx, o *Order, why string) error {
	o.Status = StatusFinalized
	if err := tx.DB.Save(o).Error; err != nil {
		return fmt.Errorf("finalize order %s: %w", o.GUID, err)
	}
	p.logger.InfoContext(tx.Context(), "order finalized", "order_guid", o.GUID, "charge_guid", o.ChargeGUID, "why", why)
	return tx.Publish(o.finalizedEvent())
}

// runReviewTimer passes the reviews that waited too long, every
// reviewTimerEvery, until ctx is done.
func (p *Processing) runReviewTimer(ctx context.Context) {
	tick := time.NewTicker(reviewTimerEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			// Logged once, here at the job's edge; at shutdown the database
			// may close under the last run, which is no failure.
			if _, err := p.passOverdueReviews(ctx, now); err != nil && ctx.Err() == nil {
				p.logger.ErrorContext(ctx, "review timer failed", "error", err)
			}
		}
	}
}

// passOverdueReviews finalizes every order in review since before now
// minus the review timeout, and returns how many it passed.
//
// Issue 5: a background job has no caller to take a request ID from, so
// each run makes one up at its own edge, as the HTTP edge does, logs
// with it, and every message the run causes carries it: the run can be
// followed through every service like a click.
func (p *Processing) passOverdueReviews(ctx context.Context, now time.Time) (int, error) {
	overdueSince := now.Add(-time.Duration(p.reviewTimeout.Load()))
	// Most runs find nothing: a read first, so they write nothing (and
	// wake no live page).
	var waiting int64
	err := p.db.WithContext(ctx).Model(&Order{}).
		Where("status = ? AND updated_at < ?", StatusInReview, overdueSince).Count(&waiting).Error
	if err != nil || waiting == 0 {
		return 0, err
	}
	ctx = requestid.With(ctx, "review-timer-"+requestid.New())
	passed := 0
	err = p.bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var overdue []Order
		// The timers of several instances run at once: each locks the
		// orders it passes and skips those another holds (or a hand is
		// passing), which are finalized once, by that one.
		locked := tx.DB.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
		err := locked.Where("status = ? AND updated_at < ?", StatusInReview, overdueSince).Order("id").Find(&overdue).Error
		if err != nil {
			return fmt.Errorf("find overdue reviews: %w", err)
		}
		for i := range overdue {
			if err := p.finalize(tx, &overdue[i], "review timed out"); err != nil {
				return err
			}
		}
		passed = len(overdue)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("review timer: %w", err)
	}
	p.logger.InfoContext(ctx, "review timer passed orders", "orders", passed)
	return passed, nil
}
