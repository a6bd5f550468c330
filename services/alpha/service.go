package alpha

import (
	"context"
	"fmt"

	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// Config starts alpha.
type Config struct {
	service.Config
	// AutoApprove approves each captured order as it arrives.
	AutoApprove bool
}

// Alpha is the order-processing service: its domain (Processing) with
// the parts every service has around it.
type Alpha struct {
	*service.Parts
	processing  *Processing
	fence       *service.ResetFence
	autoApprove bool // as configured: what a reset returns to
}

// New builds alpha: its database (seeded when new), its consumers and its
// HTTP server.
func New(cfg Config) (*Alpha, error) {
	parts, err := service.New("alpha", cfg.Config, models...)
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	p := &Processing{bus: parts.Bus, db: parts.DB, stage: parts.Stage, logger: parts.Logger}
	p.AutoApprove.Store(cfg.AutoApprove)
	p.reviewTimeout.Store(int64(DefaultReviewTimeout))
	fence, err := service.OpenResetFence(parts.DB)
	if err != nil {
		return nil, fmt.Errorf("alpha: %w", err)
	}
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, p.onOrderCaptured))
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, p.onOrderCharged))
	a := &Alpha{Parts: parts, processing: p, fence: fence, autoApprove: cfg.AutoApprove}
	a.routes()
	return a, nil
}

// Run runs alpha, and its review timer, until ctx is done.
func (a *Alpha) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	timerDone := make(chan struct{})
	go func() {
		defer close(timerDone)
		a.processing.runReviewTimer(ctx)
	}()
	err := a.Parts.Run(ctx)
	stop()
	<-timerDone
	return err
}
