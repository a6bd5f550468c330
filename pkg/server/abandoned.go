package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// statusClientGone is the status logged for a request whose client went
// away before the answer (nginx's 499, "client closed request").
const statusClientGone = 499

// unlessClientGone handles the error of a request that failed because its
// context ended: the client closed or half-closed its connection, or the
// service is stopping. The error (a cancelled database call, say) is not
// a failure of the service, so it is logged once as INFO, not as an
// ERROR with a 500; nobody reads an answer. Every other error goes to next.
func unlessClientGone(logger *slog.Logger, next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		ctx := c.Request().Context()
		causedByTheEnd := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
		if ctx.Err() == nil || !causedByTheEnd || c.Response().Committed {
			next(err, c)
			return
		}
		logger.InfoContext(ctx, "request abandoned: the client went away or the service is stopping",
			"uri", c.Request().RequestURI, "error", err)
		_ = c.NoContent(statusClientGone) // for the access log line
	}
}
