package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"eventually/pkg/logging"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
	"eventually/services/alpha"
	"eventually/services/beta"
	"eventually/services/charlie"
	"eventually/services/overlord"
)

// runner is a built service, ready to run.
type runner interface {
	Run(ctx context.Context) error
}

// services builds each service by name from the shared configuration.
var services = map[string]func(cfg config, base service.Config) (runner, error){
	"alpha": func(cfg config, base service.Config) (runner, error) {
		return alpha.New(alpha.Config{Config: base, AutoApprove: cfg.AutoApprove})
	},
	"beta": func(_ config, base service.Config) (runner, error) {
		return beta.New(beta.Config{Config: base})
	},
	"charlie": func(_ config, base service.Config) (runner, error) {
		return charlie.New(charlie.Config{Config: base})
	},
	"overlord": func(_ config, base service.Config) (runner, error) {
		return overlord.New(overlord.Config{Config: base})
	},
}

// serviceNames is the order services start in (and `all` runs).
var serviceNames = []string{"alpha", "beta", "charlie", "overlord"}

// runServices runs the named services in this process until ctx is done,
// starting an embedded broker first when no external one is configured.
func runServices(ctx context.Context, cfg config, names []string, stdout io.Writer) error {
	url := cfg.NATSURL
	if url == "" {
		broker, err := messaging.StartBroker(cfg.NATSAddr, cfg.DataDir)
		if err != nil {
			return err
		}
		defer broker.Shutdown()
		url = broker.URL()
	}
	var built []runner
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, name := range names {
		logger, closer, err := logging.ToFile(cfg.LogDir, name, stdout)
		if err != nil {
			return err
		}
		closers = append(closers, closer)
		svc, err := services[name](cfg, service.Config{
			Addr: cfg.Addrs[name], DataDir: cfg.DataDir, BrokerURL: url, Stage: cfg.Stage, Logger: logger,
		})
		if err != nil {
			return err
		}
		built = append(built, svc)
	}
	errs := make([]error, len(built))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, svc := range built {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = svc.Run(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runBroker runs the embedded broker alone until ctx is done.
func runBroker(ctx context.Context, cfg config, stdout io.Writer) error {
	broker, err := messaging.StartBroker(cfg.NATSAddr, cfg.DataDir)
	if err != nil {
		return err
	}
	defer broker.Shutdown()
	fmt.Fprintf(stdout, "broker: NATS JetStream listening on %s\n", broker.URL())
	<-ctx.Done()
	return nil
}
