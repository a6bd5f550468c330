package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// colours of each service's prefix.
var colours = map[string]string{"alpha": "34", "beta": "32", "charlie": "33", "overlord": "35", "boot": "1"}

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
	out := &prefixer{w: stdout}
	url, stopBroker, err := brokerURL(cfg)
	if err != nil {
		return err
	}
	defer stopBroker()
	if cfg.NATSURL == "" {
		out.line("boot", "NATS JetStream broker (embedded) on "+url)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	children, err := startServices(exe, cfg, url, out)
	if err != nil {
		return err
	}
	defer stopAll(children, out)
	for _, c := range children {
		go func() {
			<-c.done
			cancel() // one child gone: stop the others
		}()
	}

	start := time.Now()
	if err := waitHealthy(ctx, cfg, 30*time.Second); err != nil {
		return err
	}
	dashboard, _ := filepath.Abs("web/eventually.html")
	var b strings.Builder
	fmt.Fprintf(&b, "all services healthy after %s (stage %d)\n", time.Since(start).Round(time.Millisecond), cfg.Stage)
	for _, name := range serviceNames {
		fmt.Fprintf(&b, "  %-9s http://%s/  ·  http://%s/transitions\n", name, cfg.Addrs[name], cfg.Addrs[name])
	}
	fmt.Fprintf(&b, "  dashboard file://%s\n", dashboard)
	b.WriteString("  Ctrl-C stops everything")
	out.line("boot", b.String())

	<-ctx.Done()
	for _, c := range children {
		select {
		case <-c.done:
			if c.err != nil && !c.stopping {
				return fmt.Errorf("%s exited: %w", c.name, c.err)
			}
		default:
		}
	}
	return nil
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
		EnvAlphaAddr+"="+cfg.Addrs["alpha"],
		EnvBetaAddr+"="+cfg.Addrs["beta"],
		EnvCharlieAddr+"="+cfg.Addrs["charlie"],
		EnvOverlordAddr+"="+cfg.Addrs["overlord"],
	)
	if cfg.AutoApprove {
		env = append(env, EnvAutoApprove+"=1")
	}
	return env
}

// startServices starts every service as a child process of exe on the
// broker at url. With out nil their output is dropped (their logs still
// go to the log dir). On error it stops the ones it started.
func startServices(exe string, cfg config, url string, out *prefixer) ([]*child, error) {
	children := make([]*child, 0, len(serviceNames))
	for _, name := range serviceNames {
		c, err := startChild(exe, name, childEnv(cfg, url), out)
		if err != nil {
			stopAll(children, out)
			return nil, err
		}
		children = append(children, c)
	}
	return children, nil
}

type child struct {
	name     string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	stopping bool
}

func startChild(exe, name string, env []string, out *prefixer) (*child, error) {
	cmd := exec.Command(exe, name)
	cmd.Env = env
	// Its own process group, so Ctrl-C reaches boot alone and boot stops
	// the children in order; and killed with boot if boot dies.
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

// stopAll sends SIGTERM to every child still running, waits up to 10 s,
// then kills what is left.
func stopAll(children []*child, out *prefixer) {
	for _, c := range children {
		c.stopping = true
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(10 * time.Second)
	for _, c := range children {
		select {
		case <-c.done:
		case <-deadline:
			out.line("boot", c.name+" did not stop in 10s; killing it")
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	if len(children) > 0 {
		out.line("boot", "stopped")
	}
}

func waitHealthy(ctx context.Context, cfg config, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for _, name := range serviceNames {
		for {
			res, err := client.Get("http://" + cfg.Addrs[name] + "/healthz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy after %s: %v", name, limit, err)
			}
			select {
			case <-ctx.Done():
				return errors.New("stopped before all services were healthy")
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// prefixer writes whole lines, each behind its service's coloured name.
type prefixer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *prefixer) line(name, text string) {
	if p == nil {
		return // output dropped
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(p.w, "\x1b[%sm%-8s|\x1b[0m %s\n", colours[name], name, l)
	}
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
