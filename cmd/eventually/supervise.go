package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"eventually/internal/supervisor"
	"eventually/internal/system"
	"eventually/services/overlord"
)

// running is boot's set of children: the services it started, and the
// ones the dashboard stopped and started again since (issue 6). A child
// that exits on its own stops the run; one stopped on purpose does not.
type running struct {
	exe    string
	cfg    config
	url    string // the broker's
	out    *prefixer
	cancel context.CancelFunc // ends the run

	mu       sync.Mutex
	children map[string]*child // the latest child of each service
	order    []string
	failed   error // the first child that exited on its own
}

func newRunning(exe string, cfg config, url string, out *prefixer, children []*child, cancel context.CancelFunc) *running {
	r := &running{exe: exe, cfg: cfg, url: url, out: out, cancel: cancel, children: map[string]*child{}}
	for _, c := range children {
		r.children[c.name] = c
		r.order = append(r.order, c.name)
		go r.watch(c)
	}
	return r
}

// watch ends the run when c exits without being asked to.
func (r *running) watch(c *child) {
	<-c.done
	if c.stopping.Load() {
		return
	}
	r.mu.Lock()
	if r.failed == nil {
		r.failed = fmt.Errorf("%s exited: %w", c.name, exitErr(c.err))
	}
	r.mu.Unlock()
	r.cancel()
}

// exitErr is a child's exit error, or one that says it exited cleanly.
func exitErr(err error) error {
	if err == nil {
		return errors.New("exit status 0, unasked")
	}
	return err
}

// failure is why the run ended, if a child ended it.
func (r *running) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// stoppedOnPurpose tells whether the service's child was stopped from the
// dashboard and not started again.
func (r *running) stoppedOnPurpose(name string) bool {
	r.mu.Lock()
	c := r.children[name]
	r.mu.Unlock()
	return c != nil && c.stopping.Load() && c.exited()
}

// stopAll stops every child still running, at the end of the run.
func (r *running) stopAll() {
	r.mu.Lock()
	children := make([]*child, 0, len(r.order))
	for _, name := range r.order {
		children = append(children, r.children[name])
	}
	r.mu.Unlock()
	stopAll(children, r.out, stopGrace)
}

// process is one service as the supervisor sees it.
type process struct {
	r    *running
	name string
}

func (p process) current() *child {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return p.r.children[p.name]
}

// Running implements supervisor.Process.
func (p process) Running() bool { return !p.current().exited() }

// Stop implements supervisor.Process: SIGTERM, and SIGKILL if the service
// has not stopped within boot's grace.
func (p process) Stop(ctx context.Context) error {
	c := p.current()
	if c.exited() {
		return nil
	}
	c.stopping.Store(true)
	p.r.out.line("boot", p.name+" stopped from the dashboard")
	c.signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopGrace):
		c.signal(syscall.SIGKILL)
		<-c.done
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Start implements supervisor.Process: the service's command again, at
// the stage the dashboard gives, since the presenter may have changed the
// others' stage since boot started.
func (p process) Start(_ context.Context, stage int) error {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	if !p.r.children[p.name].exited() {
		return nil
	}
	cmd := exec.Command(p.r.exe, p.name)
	cmd.Env = append(childEnv(p.r.cfg, p.r.url), fmt.Sprintf("%s=%d", EnvStage, stage)) // the last one counts
	c, err := startChild(p.name, cmd, p.r.out)
	if err != nil {
		return err
	}
	p.r.children[p.name] = c
	go p.r.watch(c)
	p.r.out.line("boot", p.name+" started again from the dashboard")
	return nil
}

// control is boot's supervisor, on a loopback port under a secret path
// that only overlord is told (EnvSupervisor).
type control struct {
	listener net.Listener
	secret   string
	url      string
}

func listenControl() (*control, error) {
	secret, err := supervisor.Secret()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("boot: listen for the dashboard's stop and start: %w", err)
	}
	return &control{listener: l, secret: secret, url: "http://" + l.Addr().String() + secret}, nil
}

func (c *control) close() { c.listener.Close() }

// serve serves the supervisor of r's children until the returned
// function is called.
func (c *control) serve(r *running) (func(), error) {
	// Every service but overlord, which serves the dashboard and passes
	// its calls on.
	stoppable := slices.DeleteFunc(slices.Clone(system.Names), func(name string) bool { return name == overlord.Name })
	procs := map[string]supervisor.Process{}
	for _, name := range stoppable {
		procs[name] = process{r: r, name: name}
	}
	s, err := supervisor.New(stoppable, procs)
	if err != nil {
		c.close()
		return nil, err
	}
	srv := &http.Server{Handler: s.Handler(c.secret), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(c.listener) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
