package server

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/labstack/echo/v4"
)

// Run serves e on ln and runs the service's background work (its message
// consumers and outbox relay) until ctx is done or one of them fails; then
// it stops the others and returns the first error.
func Run(ctx context.Context, e *echo.Echo, ln net.Listener, background ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tasks := append([]func(context.Context) error{func(ctx context.Context) error { return Serve(ctx, e, ln) }}, background...)
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = task(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
