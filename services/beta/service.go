package beta

import (
	"context"
	"fmt"

	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// Config starts beta.
type Config struct {
	service.Config
}

// Beta is the order-capture service: its domain (Capture) with the parts
// every service has around it.
type Beta struct {
	*service.Parts
	capture *Capture
	fence   *service.ResetFence
}

// New builds beta: its database (seeded when new), its consumers and its
// HTTP server.
func New(cfg Config) (*Beta, error) {
	parts, err := service.New("beta", cfg.Config, models...)
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	c := &Capture{bus: parts.Bus, stage: parts.Stage, logger: parts.Logger}
	fence, err := service.OpenResetFence(parts.DB)
	if err != nil {
		return nil, fmt.Errorf("beta: %w", err)
	}
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, c.onSettingsChanged))
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, c.onOrderFinalized))
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, c.onOrderCharged))
	b := &Beta{Parts: parts, capture: c, fence: fence}
	b.routes()
	return b, nil
}

// Run runs beta until ctx is done.
func (b *Beta) Run(ctx context.Context) error { return b.Parts.Run(ctx) }
