// Package system is the one table of eventually's services. The binary's
// configuration, its usage text, boot's start order and colours, the
// compose check and the tests all read it, so adding a service is a row
// here (and its package) rather than an edit in ten places.
package system

import (
	"context"
	"fmt"
	"strings"

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

// Options are the settings that only some services take.
type Options struct {
	AutoApprove bool // alpha approves captured orders at once
	// Supervisor is where overlord passes the dashboard's stop and start
	// of a service on to (boot's supervisor); empty: nowhere.
	Supervisor string
}

// Spec is one row of the table: what the binary needs to know to
// configure, start and show a service.
type Spec struct {
	Name        string
	Role        string // one line, for the usage text
	DefaultAddr string // its HTTP address unless AddrEnv says otherwise
	Colour      string // ANSI colour of its name in boot's output
	Build       func(base service.Config, opts Options) (Service, error)
}

// AddrEnv is the environment variable that sets the service's HTTP
// address: EVENTUALLY_<NAME>_ADDR.
func (s Spec) AddrEnv() string {
	return "EVENTUALLY_" + strings.ToUpper(s.Name) + "_ADDR"
}

// Table is every service, in the order they start. It is a new slice on
// each call, so no caller can change the table for the others.
func Table() []Spec {
	return []Spec{
		{Name: "alpha", Role: "order processing", DefaultAddr: "127.0.0.1:3991", Colour: "34",
			Build: func(base service.Config, opts Options) (Service, error) {
				return alpha.New(alpha.Config{Config: base, AutoApprove: opts.AutoApprove})
			}},
		{Name: "beta", Role: "order capture", DefaultAddr: "127.0.0.1:3992", Colour: "32",
			Build: func(base service.Config, _ Options) (Service, error) {
				return beta.New(beta.Config{Config: base})
			}},
		{Name: "charlie", Role: "charging", DefaultAddr: "127.0.0.1:3993", Colour: "33",
			Build: func(base service.Config, _ Options) (Service, error) {
				return charlie.New(charlie.Config{Config: base})
			}},
		{Name: "overlord", Role: "the watcher", DefaultAddr: "127.0.0.1:3994", Colour: "35",
			Build: func(base service.Config, opts Options) (Service, error) {
				return overlord.New(overlord.Config{Config: base, Supervisor: opts.Supervisor})
			}},
	}
}

// Names are the services' names in start order, read from the table.
var Names = names()

func names() []string {
	var out []string
	for _, s := range Table() {
		out = append(out, s.Name)
	}
	return out
}

// Lookup is the table's row for the named service.
func Lookup(name string) (Spec, bool) {
	for _, s := range Table() {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Build builds the named service on its base configuration.
func Build(name string, base service.Config, opts Options) (Service, error) {
	s, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown service %q (want one of %v)", name, Names)
	}
	svc, err := s.Build(base, opts)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	return svc, nil
}
