package alpha

import (
	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// reseed returns alpha's tables to the seed, for a reset: the seed's
// settings at their version (1000), and no orders. Events from before
// the reset are dropped when they arrive (service.ResetFence).
func reseed(db *gorm.DB) error {
	if err := service.DeleteAll(db, &Order{}); err != nil {
		return err
	}
	return saveSettings(db, settingsFromEvent(seed.Settings))
}

// resetSwitches puts alpha's switches back as it started: auto-approve
// as configured, no review step.
func (a *Alpha) resetSwitches() {
	a.processing.AutoApprove.Store(a.autoApprove)
	a.processing.HoldForReview.Store(false)
	a.processing.reviewTimeout.Store(int64(DefaultReviewTimeout))
}
