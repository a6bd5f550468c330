package charlie

import (
	"context"

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
	messaging.Handle(parts.Bus, charging.onSettingsChanged)
	messaging.Handle(parts.Bus, charging.onOrderApproved)
	c := &Charlie{Parts: parts}
	c.routes()
	return c, nil
}

// Run runs charlie until ctx is done.
func (c *Charlie) Run(ctx context.Context) error { return c.Parts.Run(ctx) }
