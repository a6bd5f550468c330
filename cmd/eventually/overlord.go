package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"eventually/pkg/broker"
	"eventually/services/overlord"
)

// overlordCommand runs overlord, or with --rebuild rebuilds its message
// store from the stream and exits.
func overlordCommand(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("overlord", flag.ContinueOnError)
	flags.SetOutput(stdout)
	rebuild := flags.Bool("rebuild", false, "drop the message store, rebuild it by replaying the stream, and exit")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("overlord: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("overlord: unexpected arguments %q", flags.Args())
	}
	if !*rebuild {
		return runServices(ctx, cfg, []string{"overlord"}, stdout)
	}
	url, stop, err := rebuildBroker(cfg)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "overlord: rebuilding the message store in %s from the stream on %s\n", cfg.DataDir, url)
	r, err := overlord.Rebuild(ctx, cfg.DataDir, url)
	if err != nil {
		return err
	}
	how := "into a new file"
	if r.InPlace {
		how = "in place: overlord is running"
	}
	fmt.Fprintf(stdout, "overlord: rebuilt %d messages in %s (%.0f messages/s), %s\n",
		r.Messages, r.Took.Round(time.Millisecond), r.PerSecond(), how)
	return nil
}

// rebuildBroker is the broker to replay from: the configured one, else
// the one a running `boot` serves on the broker address, else an embedded
// one started on the data dir for the rebuild only.
func rebuildBroker(cfg config) (url string, stop func(), err error) {
	if cfg.NATSURL != "" {
		return cfg.NATSURL, func() {}, nil
	}
	if conn, err := net.DialTimeout("tcp", cfg.NATSAddr, 500*time.Millisecond); err == nil {
		conn.Close()
		return "nats://" + cfg.NATSAddr, func() {}, nil
	}
	b, err := broker.Start(cfg.NATSAddr, cfg.DataDir)
	if err != nil {
		return "", nil, err
	}
	return b.URL(), b.Shutdown, nil
}
