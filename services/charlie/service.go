package charlie

import (
	"context"
	"fmt"

	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// Config starts charlie.
type Config struct {
	service.Config
}

// Charlie is the charging service: the parts every service has, around
// its domain (Charging), which the message handlers reach; HTTP only reads.
type Charlie struct {
	*service.Parts
	fence *service.ResetFence
}

// New builds charlie: its database (seeded when new), its consumers and
// its HTTP server.
func New(cfg Config) (*Charlie, error) {
	parts, err := service.New("charlie", cfg.Config, models...)
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	charging := &Charging{stage: parts.Stage, logger: parts.Logger}
	fence, err := service.OpenResetFence(parts.DB)
	if err != nil {
		return nil, fmt.Errorf("charlie: %w", err)
	}
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, charging.onSettingsChanged))
	messaging.Handle(parts.Bus, service.AfterReset(fence, parts.Logger, charging.onOrderApproved))
	c := &Charlie{Parts: parts, fence: fence}
	c.routes()
	return c, nil
}

// Run runs charlie until ctx is done.
func (c *Charlie) Run(ctx context.Context) error { return c.Parts.Run(ctx) }
