package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
	"go.opentelemetry.io/otel/propagation"

	"eventually/pkg/telemetry"
)

// NewRegistry is a service's own Prometheus registry, with the Go
// runtime's and the process's metrics. Each service has one, never the
// global: several services may run in one process (`eventually all`,
// the tests), and each answers /metrics for itself.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// observability is the middleware that traces and counts requests, and
// adds GET /metrics when the service has a registry.
func observability(e *echo.Echo, cfg Config) []echo.MiddlewareFunc {
	var mw []echo.MiddlewareFunc
	if cfg.TracerProvider != nil {
		// otelecho: a server span per request, continuing the caller's
		// traceparent; the logger below it writes inside the span.
		mw = append(mw, otelecho.Middleware(cfg.Service, otelecho.WithTracerProvider(cfg.TracerProvider),
			otelecho.WithPropagators(telemetry.Propagator()), otelecho.WithSkipper(quiet)))
	} else {
		mw = append(mw, passOnTraceContext(telemetry.Propagator()))
	}
	if cfg.Metrics != nil {
		// echoprometheus: request count, latency and sizes by method,
		// route and status; unknown paths share one label value.
		mw = append(mw, echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{
			Namespace: "eventually", Subsystem: "http", Registerer: cfg.Metrics, DoNotUseRequestPathFor404: true,
			Skipper: func(c echo.Context) bool { return c.Path() == "/metrics" },
		}))
		e.GET("/metrics", echoprometheus.NewHandlerWithConfig(echoprometheus.HandlerConfig{Gatherer: cfg.Metrics}))
	}
	return mw
}

// passOnTraceContext is what tracing off does with a caller's
// traceparent: no span, but its context is the request's, so the log
// lines and the messages of the request carry the caller's trace (W3C
// Trace Context's rule for a hop that does not trace). Without the header
// it costs one header lookup.
func passOnTraceContext(prop propagation.TextMapPropagator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Header.Get("traceparent") != "" {
				c.SetRequest(req.WithContext(prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))))
			}
			return next(c)
		}
	}
}

// quiet says which requests are neither logged nor traced: the polls of
// live pages and the dashboard, probes, assets and scrapes. They would
// bury the requests the talk is about.
func quiet(c echo.Context) bool {
	// A live page's refresh says X-Live; the dashboard's polls add
	// ?poll=1 (a query, since a header of its own would cost a preflight).
	p, r := c.Path(), c.Request()
	poll := r.Method == http.MethodGet && (p == "/api/stage" || r.Header.Get("X-Live") != "" || c.QueryParam("poll") == "1")
	probe := p == "/healthz" || p == "/readyz" || p == "/metrics"
	return poll || probe || p == "/api/changes" || strings.HasPrefix(p, "/assets/")
}
