package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"eventually/internal/system"
	"eventually/pkg/broker"
	"eventually/pkg/logging"
	"eventually/pkg/service"
)

// runServices runs the named services in this process until ctx is done,
// starting an embedded broker first when no external one is configured.
// The first service to fail stops the others.
func runServices(ctx context.Context, cfg config, names []string, stdout io.Writer) error {
	tuneGC(os.Getenv)
	url, stopBroker, err := brokerURL(cfg, stdout)
	if err != nil {
		return err
	}
	defer stopBroker()
	var built []system.Service
	var closers []io.Closer
	var flushes []func()
	defer func() {
		for _, flush := range flushes {
			flush() // the last spans, before the logs close
		}
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, name := range names {
		logger, closer, err := logging.ToFile(cfg.LogDir, name, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		closers = append(closers, closer)
		tp, flush, err := tracerProvider(ctx, os.Getenv, name, cfg.Instance)
		if err != nil {
			return err
		}
		flushes = append(flushes, flush)
		svc, err := system.Build(name, service.Config{
			Addr: cfg.Addrs[name], DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, BrokerURL: url, Stage: cfg.Stage, Logger: logger,
			Browser: cfg.browser(), Instance: cfg.Instance, Stream: cfg.Stream, TracerProvider: tp,
		}, system.Options{AutoApprove: cfg.AutoApprove, Supervisor: cfg.Supervisor})
		if err != nil {
			return err
		}
		built = append(built, svc)
	}
	g, ctx := errgroup.WithContext(ctx)
	pprof, err := servePprof(ctx, cfg.PprofAddr)
	if err != nil {
		return err
	}
	g.Go(pprof)
	for i, svc := range built {
		g.Go(func() error {
			if err := svc.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", names[i], err)
			}
			return nil
		})
	}
	return g.Wait()
}

// brokerURL is the external broker's URL when one is configured; else it
// starts the embedded broker, logging to logs/broker.log and also, and
// returns its URL and how to stop it.
func brokerURL(cfg config, also io.Writer) (string, func(), error) {
	if cfg.NATSURL != "" {
		return cfg.NATSURL, func() {}, nil
	}
	b, closeLog, err := startBroker(cfg, also)
	if err != nil {
		return "", nil, err
	}
	return b.URL(), func() {
		b.Shutdown()
		closeLog.Close()
	}, nil
}

// startBroker starts the embedded broker with its warnings in the logs.
func startBroker(cfg config, also io.Writer) (*broker.Broker, io.Closer, error) {
	logger, closeLog, err := logging.ToFile(cfg.LogDir, "broker", also)
	if err != nil {
		return nil, nil, fmt.Errorf("broker: %w", err)
	}
	b, err := broker.Start(cfg.NATSAddr, cfg.DataDir, broker.WithLogger(logger), broker.WithMonitor(cfg.NATSMonitorAddr))
	if err != nil {
		closeLog.Close()
		return nil, nil, err
	}
	return b, closeLog, nil
}

// runBroker runs the embedded broker alone until ctx is done.
func runBroker(ctx context.Context, cfg config, stdout io.Writer) error {
	b, closeLog, err := startBroker(cfg, stdout)
	if err != nil {
		return err
	}
	defer closeLog.Close()
	defer b.Shutdown()
	fmt.Fprintf(stdout, "broker: NATS JetStream listening on %s\n", b.URL())
	<-ctx.Done()
	return nil
}
