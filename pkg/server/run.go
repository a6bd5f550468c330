package server

import (
	"context"
	"net"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"
)

// Run serves e on ln and runs the service's background work (its message
// consumers and outbox relay) until ctx is done or one of them fails; then
// it stops the others and returns the first error.
func Run(ctx context.Context, e *echo.Echo, ln net.Listener, background ...func(context.Context) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return Serve(ctx, e, ln) })
	for _, task := range background {
		g.Go(func() error { return task(ctx) })
	}
	return g.Wait()
}
