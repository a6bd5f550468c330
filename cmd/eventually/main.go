// Command eventually runs the whole reference system: each service, the
// embedded broker, and the tools around them.
//
//	eventually boot                  broker + every service as child processes
//	eventually alpha|beta|charlie    one service (starts an embedded broker
//	                                 unless EVENTUALLY_NATS_URL is set)
//	eventually all                   every service in this one process
//	eventually overlord --rebuild    rebuild the watcher's store from the stream
//	eventually logs <request-id>     one request's log lines, in time order
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"eventually/pkg/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eventually:", err)
		os.Exit(1)
	}
}

const usage = `usage: eventually <command>

commands:
  boot       start the broker and every service as separate processes
  alpha      run alpha (order processing)
  beta       run beta (order capture)
  charlie    run charlie (charging)
  overlord   run overlord (the watcher); --rebuild rebuilds its store
             from the stream, says how long it took, and exits
  logs       logs [--json] <request-id>: one request's log lines from
             every service, merged in time order
  load       load [-n 2000] [-c 16] [--rate R] [--json] [--target ...]:
             drive orders through a system of its own (or a running
             one), print throughput, latency and the self-check
  all        run every service in this one process
  broker     run the embedded NATS JetStream broker alone
  docs       print the event catalogue as Markdown (docs/events.md)

configuration (environment):
  EVENTUALLY_STAGE          0..5, problems 1..N solved (default 5)
  EVENTUALLY_DATA_DIR       databases and broker storage (default data)
  EVENTUALLY_LOG_DIR        JSON logs, one file per service (default logs)
  EVENTUALLY_NATS_URL       external broker; empty starts the embedded one
  EVENTUALLY_NATS_ADDR      embedded broker address (default 127.0.0.1:4222)
  EVENTUALLY_ALPHA_ADDR     (default 127.0.0.1:3991)
  EVENTUALLY_BETA_ADDR      (default 127.0.0.1:3992)
  EVENTUALLY_CHARLIE_ADDR   (default 127.0.0.1:3993)
  EVENTUALLY_OVERLORD_ADDR  (default 127.0.0.1:3994)
  EVENTUALLY_AUTO_APPROVE   1: alpha approves captured orders at once
`

// errUsage is returned for a command line that names no known command.
var errUsage = errors.New("unknown command (see usage above)")

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "boot":
		return boot(ctx, cfg, rest, stdout)
	case "broker":
		return runBroker(ctx, cfg, stdout)
	case "overlord":
		return overlordCommand(ctx, cfg, rest, stdout)
	case "logs":
		return logsCommand(cfg, rest, stdout)
	case "load":
		return loadCommand(ctx, cfg, rest, stdout)
	case "all":
		return runServices(ctx, cfg, serviceNames, stdout)
	case "docs":
		// The event catalogue as Markdown: `make docs` writes docs/events.md.
		md, err := events.Markdown()
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, md)
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if slices.Contains(serviceNames, cmd) {
		return runServices(ctx, cfg, []string{cmd}, stdout)
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("%q: %w", cmd, errUsage)
}
