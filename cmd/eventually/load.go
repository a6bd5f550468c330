package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
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
	asJSON := flags.Bool("json", false, "print the figures as JSON")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments %q", flags.Args())
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
		if report, err = loadOwnSystem(ctx, cfg, opts); err != nil {
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

// loadOwnSystem starts the broker and every service in a temp dir,
// drives the run, and adds what only the starter knows: the time to all
// healthy.
func loadOwnSystem(ctx context.Context, cfg config, opts load.Options) (load.Report, error) {
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
	b, err := broker.Start("127.0.0.1:0", cfg.DataDir)
	if err != nil {
		return load.Report{}, err
	}
	defer b.Shutdown()
	children, err := startServices(exe, cfg, b.URL(), nil)
	if err != nil {
		return load.Report{}, err
	}
	defer stopAll(children, nil, stopGrace)
	if err := waitReady(ctx, cfg, 30*time.Second); err != nil {
		return load.Report{}, err
	}
	healthy := time.Since(start)

	targets := load.Targets{Broker: b.URL()}
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
