package systemtest

import (
	"context"
	"net/http/httptest"
	"slices"

	"eventually/internal/supervisor"
)

// The dashboard stops and starts services (issue 6) through overlord,
// which passes the calls on to the supervisor of whatever runs them: in
// the binary, boot's child processes; here, the in-process services, each
// stopped and started as StopService and StartService do.

// serveSupervisor serves the supervisor of every service but overlord,
// and stops serving when the test ends.
func (s *System) serveSupervisor() {
	s.t.Helper()
	secret, err := supervisor.Secret()
	if err != nil {
		s.t.Fatal(err)
	}
	names := slices.DeleteFunc(slices.Clone(AllServices), func(n string) bool { return n == "overlord" })
	procs := map[string]supervisor.Process{}
	for _, name := range names {
		procs[name] = inProcess{s: s, name: name}
	}
	sup, err := supervisor.New(names, procs)
	if err != nil {
		s.t.Fatal(err)
	}
	srv := httptest.NewServer(sup.Handler(secret))
	s.t.Cleanup(srv.Close)
	s.supervisor = srv.URL + secret
}

// inProcess is one in-process service as the supervisor sees it.
type inProcess struct {
	s    *System
	name string
}

func (p inProcess) Running() bool {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.running[p.name] != nil
}

func (p inProcess) Stop(context.Context) error { return p.s.stop(p.name) }

func (p inProcess) Start(_ context.Context, stage int) error {
	if p.Running() {
		return nil
	}
	_, err := p.s.start(p.name, stage)
	return err
}
