// Command eventually runs the whole reference system: each service, the
// embedded broker, and the tools around them.
//
//	eventually boot                  broker + every service as child processes
//	eventually alpha|beta|charlie    one service (starts an embedded broker
//	                                 unless EVENTUALLY_NATS_URL is set)
//	eventually all                   every service in this one process
//	eventually overlord --rebuild    rebuild the watcher's store from the stream
//	eventually logs <request-id>     one request's log lines, in time order (or a trace's)
//	eventually settings --fee-enabled=false   change alpha's settings from a console
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"eventually/internal/system"
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

// usage is the help text. The services and the configuration come from
// the table of services, so a new service shows up here by itself.
func usage() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(w, "usage: eventually <command>\n\ncommands:\n")
	fmt.Fprint(w, "  boot\tstart the broker and every service as separate processes\n")
	for _, s := range system.Table() {
		fmt.Fprintf(w, "  %s\trun %s (%s)\n", s.Name, s.Name, s.Role)
	}
	for _, row := range toolCommands() {
		fmt.Fprintf(w, "  %s\t%s\n", row[0], row[1])
	}
	fmt.Fprint(w, "\nconfiguration (environment):\n")
	for _, v := range envVars() {
		fmt.Fprintf(w, "  %s\t%s\n", v.name, v.help)
	}
	w.Flush()
	return b.String()
}

// toolCommands are the usage rows of the commands other than running a
// service: command and help; a row without a command continues the help.
func toolCommands() [][2]string {
	return [][2]string{
		{"overlord", "overlord --rebuild: rebuild its store from the stream,"},
		{"", "say how long it took, and exit"},
		{"logs", "logs [--json] <request-id|trace-id>: one request's (or"},
		{"", "one trace's) log lines from every service, merged in time order"},
		{"load", "load [-n 2000] [-c 16] [--rate R] [--json] [--nats URLS] [--instances N]"},
		{"", "[--target ...]:"},
		{"", "drive orders through a system of its own (or a running"},
		{"", "one), print throughput, latency and the self-check"},
		{"settings", "settings [--fee-enabled[=false]] [--discount-enabled[=false]]"},
		{"", "[--fee-cents N] [--discount-cents N] [--request-id ID]: change"},
		{"", "alpha's settings under one request ID, and print it"},
		{"all", "run every service in this one process"},
		{"broker", "run the embedded NATS JetStream broker alone"},
		{"docs", "print the event catalogue as Markdown (docs/events.md)"},
		{"poison", "poison replay [--id ID]...: send poisoned messages through"},
		{"", "again once their cause is fixed (all, or the given ones)"},
	}
}

// errUsage is returned for a command line that names no known command.
var errUsage = errors.New("unknown command (see usage above)")

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage())
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
	case "poison":
		return poisonCommand(ctx, cfg, rest, stdout)
	case "settings":
		return settingsCommand(ctx, cfg, rest, stdout)
	case "all":
		return runServices(ctx, cfg, system.Names, stdout)
	case "docs":
		// The event catalogue as Markdown: `make docs` writes docs/events.md.
		md, err := events.Markdown()
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, md)
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	if _, ok := system.Lookup(cmd); ok {
		return runServices(ctx, cfg, []string{cmd}, stdout)
	}
	fmt.Fprint(stdout, usage())
	return fmt.Errorf("%q: %w", cmd, errUsage)
}
