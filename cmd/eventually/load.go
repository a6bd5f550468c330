package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"eventually/internal/load"
	"eventually/internal/system"
	"eventually/pkg/broker"
)

// loadCommand drives orders through the system and prints what it
// measured. By default it starts a system of its own (embedded broker,
// every service as a process, all in a temp dir on free ports); with
// --target it drives a running one.
func loadCommand(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("load", flag.ContinueOnError)
	flags.SetOutput(stdout)
	var opts load.Options
	flags.IntVar(&opts.Orders, "n", 2000, "orders to drive")
	flags.IntVar(&opts.Customers, "c", 16, "concurrent customers, each with its own cart")
	flags.Float64Var(&opts.Rate, "rate", 0, "orders per second to offer (0: as fast as the system takes them)")
	flags.IntVar(&opts.Changes, "changes", 200, "settings changes to time (-1: none)")
	flags.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long an order may take before it counts as lost")
	flags.BoolVar(&opts.Rebuild, "rebuild", true, "time overlord's rebuild of the run's messages")
	flags.IntVar(&opts.RebuildSize, "rebuild-size", 0, "before the rebuild, fill the stream with copies of the run's messages up to about this many")
	var target repeated
	flags.Var(&target, "target", "drive a running system: `default` (the EVENTUALLY_* addresses), or name=URL\n"+
		"for alpha, beta, charlie, nats, one per --target (the ones left out are the configured\n"+
		"ones); nats= takes a comma-separated list of servers, as EVENTUALLY_NATS_URL does;\n"+
		"alpha=, beta= and charlie= a comma-separated list of a service's instances, all checked")
	var own ownSystem
	flags.StringVar(&own.Broker, "nats", "", "run the system of its own on this broker instead of an embedded one:\n"+
		"a NATS server's URL, or a cluster's servers, comma-separated")
	flags.IntVar(&own.Instances, "instances", 1, "instances of alpha, beta and charlie in the system of its own (more\n"+
		"than one needs a store they share; on SQLite the second refuses to start)")
	asJSON := flags.Bool("json", false, "print the figures as JSON")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments %q", flags.Args())
	}
	if len(target) > 0 && (own.Broker != "" || own.Instances != 1) {
		return errors.New("load: --nats and --instances shape the system of its own; --target drives a running one")
	}
	if own.Instances < 1 {
		return fmt.Errorf("load: --instances %d: want at least 1", own.Instances)
	}
	opts.Progress = os.Stderr

	var report load.Report
	if len(target) > 0 {
		targets, err := parseTargets(cfg, target)
		if err != nil {
			return err
		}
		if report, err = load.Run(ctx, targets, opts); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	} else {
		var err error
		if report, err = loadOwnSystem(ctx, cfg, opts, own); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}

	if *asJSON {
		if err := report.WriteJSON(stdout); err != nil {
			return err
		}
	} else if err := report.WriteTable(stdout); err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("load: THE RUN LOST OR DUPLICATED WORK: %d problems (listed above)", len(report.Problems))
	}
	return nil
}

// ownSystem shapes the system load starts for itself.
type ownSystem struct {
	// Broker is where its services connect (a cluster's servers,
	// comma-separated); empty: an embedded broker of its own.
	Broker string
	// Instances of alpha, beta and charlie; overlord, the watcher, runs once.
	Instances int
}

// loadOwnSystem starts the broker (unless own names one) and every
// service in a temp dir, drives the run, and adds what only the starter
// knows: the time to all healthy.
func loadOwnSystem(ctx context.Context, cfg config, opts load.Options, own ownSystem) (load.Report, error) {
	dir, err := os.MkdirTemp("", "eventually-load-")
	if err != nil {
		return load.Report{}, err
	}
	defer os.RemoveAll(dir)
	exe, err := os.Executable()
	if err != nil {
		return load.Report{}, fmt.Errorf("find own binary: %w", err)
	}
	cfg.DataDir, cfg.LogDir, cfg.NATSURL, cfg.AutoApprove = filepath.Join(dir, "data"), filepath.Join(dir, "logs"), "", false
	cfg.Addrs = map[string]string{}
	for _, name := range system.Names {
		if cfg.Addrs[name], err = loopbackAddr(); err != nil {
			return load.Report{}, err
		}
	}

	start := time.Now()
	brokerURL := own.Broker
	if brokerURL == "" {
		b, err := broker.Start("127.0.0.1:0", cfg.DataDir)
		if err != nil {
			return load.Report{}, err
		}
		defer b.Shutdown()
		brokerURL = b.URL()
	}
	children, err := startServices(exe, cfg, brokerURL, nil)
	if err != nil {
		return load.Report{}, err
	}
	defer func() { stopAll(children, nil, stopGrace) }()
	if err := waitReady(ctx, cfg, 30*time.Second); err != nil {
		return load.Report{}, err
	}
	// The others after the first of each is ready: on a store of one
	// instance's own the first holds the lease, and the others say why
	// they cannot start.
	extra, more, err := startInstances(ctx, exe, cfg, brokerURL, own.Instances)
	children = append(children, extra...)
	if err != nil {
		return load.Report{}, err
	}
	healthy := time.Since(start)
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "load: %d instance(s) of alpha, beta and charlie on %s\n", own.Instances, brokerURL)
	}

	// The run drives and checks every instance: auto-approve on each
	// alpha, carts over every beta, the charges of every charlie.
	targets := load.Targets{Broker: brokerURL, More: more}
	targets.Alpha, targets.Beta, targets.Charlie = "http://"+cfg.Addrs["alpha"], "http://"+cfg.Addrs["beta"], "http://"+cfg.Addrs["charlie"]
	opts.Processes = map[string]int{}
	for _, c := range children {
		opts.Processes[c.name] = c.cmd.Process.Pid
	}
	report, err := load.Run(ctx, targets, opts)
	if err != nil {
		return report, err
	}
	report.StartToHealthyMs = float64(healthy.Microseconds()) / 1000
	return report, nil
}

// startInstances starts instances 2..n of alpha, beta and charlie, each
// on an address of its own and named <service>-<i>, and waits until they
// are ready. One that exits first is reported with what it said. more
// are their base URLs, by service.
func startInstances(ctx context.Context, exe string, cfg config, url string, n int) (started []*child, more map[string][]string, err error) {
	more = map[string][]string{}
	var said []*bytes.Buffer
	var addrs []string
	for i := 2; i <= n; i++ {
		for _, name := range []string{"alpha", "beta", "charlie"} {
			addr, err := loopbackAddr()
			if err != nil {
				return started, nil, err
			}
			own := cfg
			own.Addrs = maps.Clone(cfg.Addrs)
			own.Addrs[name] = addr
			cmd := exec.Command(exe, name)
			cmd.Env = append(childEnv(own, url), fmt.Sprintf("%s=%s-%d", EnvInstance, name, i))
			stderr := &bytes.Buffer{}
			cmd.Stderr = stderr
			c, err := startChild(fmt.Sprintf("%s-%d", name, i), cmd, nil)
			if err != nil {
				return started, nil, err
			}
			started, said, addrs = append(started, c), append(said, stderr), append(addrs, addr)
			more[name] = append(more[name], "http://"+addr)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, c := range started {
		for readiness(ctx, addrs[i]) != nil {
			if c.exited() {
				return started, nil, fmt.Errorf("%s exited: %s", c.name, strings.TrimSpace(said[i].String()))
			}
			if time.Now().After(deadline) {
				return started, nil, fmt.Errorf("%s not ready after 30s", c.name)
			}
			if !sleepCtx(ctx, 20*time.Millisecond) {
				return started, nil, ctx.Err()
			}
		}
	}
	return started, more, nil
}

// sleepCtx waits d, or until ctx is done (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// parseTargets reads the --target flags.
func parseTargets(cfg config, specs []string) (load.Targets, error) {
	nats := cfg.NATSURL
	if nats == "" {
		nats = "nats://" + cfg.NATSAddr
	}
	urls := map[string]string{"alpha": "http://" + cfg.Addrs["alpha"], "beta": "http://" + cfg.Addrs["beta"],
		"charlie": "http://" + cfg.Addrs["charlie"], "nats": nats}
	for _, spec := range specs {
		if spec == "default" {
			continue
		}
		name, url, ok := strings.Cut(strings.TrimSpace(spec), "=")
		if _, known := urls[name]; !ok || !known || url == "" {
			return load.Targets{}, fmt.Errorf("load: --target %q: want default, or name=URL for alpha, beta, charlie or nats", spec)
		}
		urls[name] = url
	}
	t := load.Targets{Broker: urls["nats"], More: map[string][]string{}}
	for name, first := range map[string]*string{"alpha": &t.Alpha, "beta": &t.Beta, "charlie": &t.Charlie} {
		instances := strings.Split(urls[name], ",")
		for i := range instances {
			instances[i] = strings.TrimSuffix(strings.TrimSpace(instances[i]), "/")
		}
		*first, t.More[name] = instances[0], instances[1:]
	}
	return t, nil
}

// loopbackAddr is a loopback address with a port free right now.
func loopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
