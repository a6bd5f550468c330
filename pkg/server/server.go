// Package server is the echo server every service runs: request IDs, JSON
// errors, body limits, the stage switch, health, and live page updates.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"eventually/pkg/domain"
	"eventually/pkg/requestid"
	"eventually/pkg/stage"
)

// MaxBody is the largest request body accepted.
const MaxBody = "64K"

// Config is what every service's server needs.
type Config struct {
	Service string
	// Instance names this process among the service's instances; /readyz
	// says it. Optional.
	Instance string
	Logger   *slog.Logger
	Stage    *stage.Stage
	Live     *Live
	// Ready is nil when the service takes part in the message flow, else
	// why not; /readyz answers 503 with the reason until it does.
	Ready func() error
	// Browser says which web pages may call the service.
	Browser Browser
	// TracerProvider makes a span of each request (metrics.go); nil:
	// none, and a caller's traceparent is only passed on.
	TracerProvider trace.TracerProvider
	// Metrics, when set, counts requests and is served at /metrics.
	Metrics *prometheus.Registry
}

// New returns an echo server with the middleware and routes all services
// share: /healthz, /api/stage, /api/changes, /assets/.
func New(cfg Config) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = unlessClientGone(cfg.Logger, errorHandler(cfg.Logger))

	e.Use(
		dropUnsafeRequestID,
		// Issue 5: every request gets a request ID: the caller's
		// X-Request-ID when it is a sane token, else a generated one. It is
		// sent back and put in the request's context for logs and messages.
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{
			Generator: requestid.New,
			RequestIDHandler: func(c echo.Context, id string) {
				c.SetRequest(c.Request().WithContext(requestid.With(c.Request().Context(), id)))
			},
		}),
	)
	// A span and metrics per request; the request's log line is written
	// inside the span, so it carries the trace ID.
	e.Use(observability(e, cfg)...)
	e.Use(
		middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogStatus: true, LogMethod: true, LogURI: true, LogLatency: true,
			// The error handler answers first, so the line has the status
			// the client got: without this a 404 is logged as 200.
			HandleError: true,
			Skipper:     quiet,
			LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
				cfg.Logger.InfoContext(c.Request().Context(), "http request",
					"method", v.Method, "uri", v.URI, "status", v.Status, "latency_ms", v.Latency.Milliseconds())
				return nil
			},
		}),
		middleware.Recover(),
	)
	// Only the service's own pages and the dashboard's may change its
	// state, and only requests addressed to it are served (browser.go).
	e.Use(cfg.Browser.middleware()...)
	e.Use(middleware.BodyLimit(MaxBody))

	probes(e, cfg)
	e.GET("/api/stage", func(c echo.Context) error { return c.JSON(http.StatusOK, stageBody(cfg)) })
	e.PUT("/api/stage", func(c echo.Context) error {
		var body struct {
			Stage *int `json:"stage"`
		}
		if err := BindJSON(c, &body); err != nil {
			return err
		}
		if body.Stage == nil {
			return echo.NewHTTPError(http.StatusBadRequest, "stage is required")
		}
		if err := cfg.Stage.Set(*body.Stage); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		cfg.Logger.InfoContext(c.Request().Context(), "stage changed", "stage", *body.Stage)
		cfg.Live.Changed()
		return c.JSON(http.StatusOK, stageBody(cfg))
	})
	e.GET("/api/changes", cfg.Live.handle)
	e.GET("/assets/live.js", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", liveJS)
	})
	return e
}

func stageBody(cfg Config) map[string]any {
	return map[string]any{"service": cfg.Service, "stage": cfg.Stage.Get(), "max": stage.Max}
}

// dropUnsafeRequestID removes a caller's X-Request-ID that is not a sane
// token, so the request ID middleware generates one instead.
func dropUnsafeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !requestid.Valid(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// errorHandler answers every error as JSON with the request ID, and logs
// server-side failures once, here at the edge. A domain error's kind
// chooses the status; its text, which says what was wrong, is the answer.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, text := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		switch {
		case errors.Is(err, domain.ErrNotFound):
			status, text = http.StatusNotFound, err.Error()
		case errors.Is(err, domain.ErrConflict):
			status, text = http.StatusConflict, err.Error()
		case errors.Is(err, domain.ErrInvalid):
			status, text = http.StatusBadRequest, err.Error()
		case errors.Is(err, domain.ErrUnavailable):
			status, text = http.StatusServiceUnavailable, err.Error()
		case errors.As(err, &he):
			status = he.Code
			text = fmt.Sprint(he.Message)
			if status == http.StatusRequestEntityTooLarge {
				text = "request body is larger than " + MaxBody + "B"
			}
		}
		ctx := c.Request().Context()
		if status >= 500 {
			logger.ErrorContext(ctx, "request failed", "error", err, "uri", c.Request().RequestURI)
		}
		body := ErrorBody{Error: text, RequestID: requestid.From(ctx)}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, body)
		}
		if err != nil {
			logger.ErrorContext(ctx, "write error response", "error", err)
		}
	}
}

// BindJSON decodes a JSON request body into v, strictly: the body must be
// application/json, one JSON object, with no unknown fields. echo's Bind
// accepts any content type it can decode and ignores unknown fields, so a
// misspelt field would silently change nothing.
func BindJSON(c echo.Context, v any) error {
	mediaType, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return echo.NewHTTPError(http.StatusBadRequest, "request body must hold one JSON object")
	}
	return nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &httpErr):
		return httpErr
	case errors.As(err, &tooLarge):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body is too large")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return echo.NewHTTPError(http.StatusRequestTimeout, "request body not received in time")
	case errors.Is(err, io.EOF):
		return echo.NewHTTPError(http.StatusBadRequest, "request body is empty; want a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return echo.NewHTTPError(http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
	case errors.As(err, &typeErr):
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return echo.NewHTTPError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), "json: "))
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "request body: "+err.Error())
	}
}

// Listen opens the service's address ("127.0.0.1:0" picks a free port).
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: %w (another process listens there: stop it, or choose another address)", addr, syscall.EADDRINUSE)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Time limits of a connection: a client that trickles its request, or
// keeps an idle connection open, must not hold a connection for long.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second // headers and body
	// Above a live page's long poll (25 s), which writes only at its end.
	writeTimeout = 40 * time.Second
	idleTimeout  = 60 * time.Second
)

// httpServer is the http.Server that serves e; its requests end with ctx.
func httpServer(ctx context.Context, e *echo.Echo) *http.Server {
	return &http.Server{
		Handler:           e,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		// Requests end with ctx, so waiting live pages let shutdown finish.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
}

// Serve serves e on ln until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, e *echo.Echo, ln net.Listener) error {
	return serve(ctx, httpServer(ctx, e), ln)
}

func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// A browser opens connections ahead of time that never send a
		// request; Shutdown waits for them. Past the grace period, close.
		if errors.Is(err, context.DeadlineExceeded) {
			return srv.Close()
		}
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Limit reads the `limit` query parameter: def when absent, 1..max else.
func Limit(c echo.Context, def, max int) (int, error) {
	text := c.QueryParam("limit")
	if text == "" {
		return def, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%w: limit %q: want a whole number from 1 to %d", domain.ErrInvalid, text, max)
	}
	return n, nil
}
