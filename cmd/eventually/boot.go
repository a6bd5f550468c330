package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"eventually/internal/system"
	"eventually/pkg/server"
)

// stopGrace is how long the children have, all together, to stop on
// SIGTERM before boot kills them: boot must be gone within 5 s of Ctrl-C
// (every command does), and the broker still stops after them.
const stopGrace = 4 * time.Second

// boot starts the broker in this process and every service as a child
// process, prefixes and colours their output, prints the URLs once all
// are healthy, and stops everything when ctx is done (Ctrl-C).
func boot(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("boot takes no arguments (got %q); configure it with EVENTUALLY_* variables", args)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("boot: find own binary: %w", err)
	}
	out := newPrefixer(stdout)
	url, stopBroker, err := brokerURL(cfg, prefixed{out, "broker"})
	if err != nil {
		return err
	}
	defer stopBroker()
	if cfg.NATSURL == "" {
		out.line("boot", "NATS JetStream broker (embedded) on "+url)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Issue 6: the dashboard stops and starts services through boot.
	control, err := listenControl()
	if err != nil {
		return err
	}
	cfg.Supervisor = control.url
	children, err := startServices(exe, cfg, url, out)
	if err != nil {
		control.close()
		return err
	}
	run := newRunning(exe, cfg, url, out, children, cancel)
	defer run.stopAll()
	serving, err := control.serve(run)
	if err != nil {
		return err
	}
	defer serving()

	start := time.Now()
	if err := waitReady(ctx, cfg, 30*time.Second); err != nil {
		return err
	}
	out.line("boot", urls(cfg, time.Since(start)))
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchReadiness(ctx, cfg, readyPoll, out, run.stoppedOnPurpose)
	}()

	<-ctx.Done()
	<-watched
	return run.failure()
}

// childEnv is the environment of every child: this process's, with the
// configuration made explicit and the broker URL of the one we started.
func childEnv(cfg config, natsURL string) []string {
	env := os.Environ()
	env = append(env,
		fmt.Sprintf("%s=%d", EnvStage, cfg.Stage),
		EnvDataDir+"="+cfg.DataDir,
		EnvLogDir+"="+cfg.LogDir,
		EnvNATSURL+"="+natsURL,
	)
	if cfg.Supervisor != "" {
		env = append(env, EnvSupervisor+"="+cfg.Supervisor) // for overlord
	}
	env = append(env, addrEnv(cfg.Addrs)...)
	env = append(env,
		EnvDashboardOrigins+"="+strings.Join(cfg.DashboardOrigins, ","),
		EnvAllowedHosts+"="+strings.Join(cfg.AllowedHosts, ","),
	)
	if cfg.AutoApprove {
		env = append(env, EnvAutoApprove+"=1")
	}
	return env
}

// addrEnv sets each service's address variable to its address in addrs.
func addrEnv(addrs map[string]string) []string {
	var env []string
	for _, s := range system.Table() {
		env = append(env, s.AddrEnv()+"="+addrs[s.Name])
	}
	return env
}

// startServices starts every service as a child process of exe on the
// broker at url. With out nil their output is dropped (their logs still
// go to the log dir). On error it stops the ones it started.
func startServices(exe string, cfg config, url string, out *prefixer) ([]*child, error) {
	children := make([]*child, 0, len(system.Names))
	for _, name := range system.Names {
		cmd := exec.Command(exe, name)
		cmd.Env = childEnv(cfg, url)
		pprof, err := childPprofAddr(cfg.PprofAddr, name) // observe.go
		if err != nil {
			stopAll(children, out, stopGrace)
			return nil, err
		}
		cmd.Env = append(cmd.Env, EnvPprofAddr+"="+pprof)
		c, err := startChild(name, cmd, out)
		if err != nil {
			stopAll(children, out, stopGrace)
			return nil, err
		}
		children = append(children, c)
	}
	return children, nil
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	// stopping is set when boot or the dashboard stops the child: its
	// exit is asked for, not a failure that ends the run.
	stopping atomic.Bool
}

// startChild starts cmd as the child called name, its output prefixed
// on out (or dropped with out nil).
func startChild(name string, cmd *exec.Cmd, out *prefixer) (*child, error) {
	// Its own process group, so Ctrl-C reaches boot alone and boot stops
	// the children; and killed with boot if boot dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if out == nil {
		return startQuiet(cmd, name)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		scanner := bufio.NewScanner(stdoutPipe)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			out.line(name, pretty(scanner.Text()))
		}
	}()
	go func() {
		<-copied
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// startQuiet starts a child whose output goes nowhere: no pipe to read,
// so a load run spends no CPU of its own on the services' log lines.
func startQuiet(cmd *exec.Cmd, name string) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// stopAll asks every child still running to stop (SIGTERM), gives them
// all one shared grace period, then kills the ones left and reaps them.
func stopAll(children []*child, out *prefixer, grace time.Duration) {
	for _, c := range children {
		c.stopping.Store(true)
		c.signal(syscall.SIGTERM)
	}
	// One deadline that every wait below observes: a channel from
	// time.After would wake only the first child still running.
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, c := range children {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
		// Once the deadline has passed both cases above are ready for a
		// child that did stop, and select picks either: ask again.
		if !c.exited() {
			out.line("boot", fmt.Sprintf("%s did not stop within %s; killing it", c.name, grace))
			c.signal(syscall.SIGKILL)
			<-c.done
		}
	}
	if len(children) > 0 {
		out.line("boot", "stopped")
	}
}

// signal sends sig to the child's process group (all it started too,
// so none keeps its output pipe open), unless it has exited already.
func (c *child) signal(sig syscall.Signal) {
	if !c.exited() {
		_ = syscall.Kill(-c.cmd.Process.Pid, sig)
	}
}

// exited tells whether the child has exited and been reaped.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// urls is what boot prints once every service is ready: where each
// service's pages are, and the dashboard, served by overlord: its origin
// is the one the services let change their state (a file:// page is not).
func urls(cfg config, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "all services ready after %s (stage %d)\n", took.Round(time.Millisecond), cfg.Stage)
	for _, name := range system.Names {
		u := browsable(cfg.Addrs[name])
		fmt.Fprintf(&b, "  %-9s %s/  ·  %s/transitions\n", name, u, u)
	}
	dashboard := browsable(cfg.Addrs["overlord"])
	fmt.Fprintf(&b, "  dashboard %s/eventually.html%s\n", dashboard, dashboardQuery(cfg))
	if !slices.Contains(cfg.DashboardOrigins, dashboard) {
		fmt.Fprintf(&b, "  (%s does not list %s: that dashboard cannot change the stage)\n", EnvDashboardOrigins, dashboard)
	}
	b.WriteString("  Ctrl-C stops everything")
	return b.String()
}

// dashboardQuery tells the dashboard where the services are when they
// are not on their default addresses, which it assumes otherwise.
func dashboardQuery(cfg config) string {
	q := url.Values{}
	for _, s := range system.Table() {
		if s.Name != "overlord" && cfg.Addrs[s.Name] != s.DefaultAddr {
			q.Set(s.Name, browsable(cfg.Addrs[s.Name]))
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// browsable is the URL a browser on this machine opens for a service
// listening on addr: on every interface, it is its loopback address.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + addr
}

// readyPoll is how often boot asks whether every service is still ready.
const readyPoll = time.Second

var probeClient = &http.Client{Timeout: time.Second}

// readiness is nil when the service at addr answers /readyz with 200,
// else why not: its reason, or that it does not answer.
func readiness(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("does not answer: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return nil
	}
	var r server.Readiness
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || r.Reason == "" {
		return fmt.Errorf("/readyz answers %s", res.Status)
	}
	return errors.New(r.Reason)
}

// waitReady waits until every service is ready: its consumers take part
// in the message flow, so nothing published from now on is missed.
func waitReady(ctx context.Context, cfg config, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, name := range system.Names {
		for {
			err := readiness(ctx, cfg.Addrs[name])
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after %s: %w", name, limit, err)
			}
			select {
			case <-ctx.Done():
				return errors.New("stopped before all services were ready")
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// watchReadiness asks every service whether it is ready, every period,
// until ctx is done, and says when one stops being ready and when it is
// ready again: a service whose consumers fell out of the flow looks alive.
func watchReadiness(ctx context.Context, cfg config, period time.Duration, out *prefixer, stopped func(string) bool) {
	notReady := map[string]bool{}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, name := range system.Names {
			if stopped(name) {
				// boot said so when it stopped it; once it is started
				// again, the next line is that it is ready again.
				notReady[name] = true
				continue
			}
			err := readiness(ctx, cfg.Addrs[name])
			if ctx.Err() != nil {
				return // stopping: every service goes away now
			}
			switch {
			case err != nil && !notReady[name]:
				out.line("boot", fmt.Sprintf("%s is not ready: %v", name, err))
			case err == nil && notReady[name]:
				out.line("boot", name+" is ready again")
			}
			notReady[name] = err != nil
		}
	}
}

// prefixer writes whole lines, each behind its service's coloured name.
type prefixer struct {
	mu      sync.Mutex
	w       io.Writer
	colours map[string]string // name -> ANSI colour
}

// newPrefixer writes to w in the colours of the table of services, and
// boot's own lines in bold.
func newPrefixer(w io.Writer) *prefixer {
	colours := map[string]string{"boot": "1", "broker": "90"}
	for _, s := range system.Table() {
		colours[s.Name] = s.Colour
	}
	return &prefixer{w: w, colours: colours}
}

func (p *prefixer) line(name, text string) {
	if p == nil {
		return // output dropped
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(p.w, "\x1b[%sm%-8s|\x1b[0m %s\n", p.colours[name], name, l)
	}
}

// prefixed writes JSON log lines as name's lines of the prefixer.
type prefixed struct {
	p    *prefixer
	name string
}

func (w prefixed) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.p.line(w.name, pretty(l))
	}
	return len(b), nil
}

// pretty turns a JSON log line into "15:04:05.000 INFO msg key=value ...".
func pretty(line string) string {
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		return line
	}
	ts, _ := rec["time"].(string)
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		ts = t.Local().Format("15:04:05.000")
	}
	level, _ := rec["level"].(string)
	msg, _ := rec["msg"].(string)
	keys := make([]string, 0, len(rec))
	for k := range rec {
		switch k {
		case "time", "level", "msg", "service":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-5s %s", ts, level, msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, rec[k])
	}
	return b.String()
}
