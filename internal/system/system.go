// Package system knows every service of eventually by name, so the binary
// and the tests build them the same way.
package system

import (
	"context"
	"fmt"

	"eventually/pkg/service"
	"eventually/services/alpha"
	"eventually/services/beta"
	"eventually/services/charlie"
	"eventually/services/overlord"
)

// Service is a built service, ready to run.
type Service interface {
	Run(ctx context.Context) error
	URL() string
}

// Names are the services in the order they start.
var Names = []string{"alpha", "beta", "charlie", "overlord"}

// Options are the settings that only some services take.
type Options struct {
	AutoApprove bool // alpha approves captured orders at once
}

// Build builds the named service on its base configuration.
func Build(name string, base service.Config, opts Options) (Service, error) {
	switch name {
	case "alpha":
		return alpha.New(alpha.Config{Config: base, AutoApprove: opts.AutoApprove})
	case "beta":
		return beta.New(beta.Config{Config: base})
	case "charlie":
		return charlie.New(charlie.Config{Config: base})
	case "overlord":
		return overlord.New(overlord.Config{Config: base})
	}
	return nil, fmt.Errorf("unknown service %q (want one of %v)", name, Names)
}
