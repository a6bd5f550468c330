package beta

import (
	"context"

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
	messaging.Handle(parts.Bus, c.onSettingsChanged)
	messaging.Handle(parts.Bus, c.onOrderFinalized)
	messaging.Handle(parts.Bus, c.onOrderCharged)
	b := &Beta{Parts: parts, capture: c}
	b.routes()
	return b, nil
}

// Run runs beta until ctx is done.
func (b *Beta) Run(ctx context.Context) error { return b.Parts.Run(ctx) }
