package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Readiness is the answer of /readyz.
type Readiness struct {
	Status   string `json:"status"` // "ready" or "not ready"
	Service  string `json:"service"`
	Instance string `json:"instance,omitempty"`
	Reason   string `json:"reason,omitempty"` // why not ready
}

// probes adds /healthz, liveness: 200 whenever the process serves HTTP,
// so a supervisor restarts only a process that hangs; and /readyz,
// readiness: 200 only while the service takes part in the message flow
// (cfg.Ready), else 503 with the reason, so "all ready" means nothing is
// missed and a service that drops out is noticed.
func probes(e *echo.Echo, cfg Config) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "service": cfg.Service})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if cfg.Ready != nil {
			if err := cfg.Ready(); err != nil {
				return c.JSON(http.StatusServiceUnavailable, Readiness{Status: "not ready", Service: cfg.Service, Instance: cfg.Instance, Reason: err.Error()})
			}
		}
		return c.JSON(http.StatusOK, Readiness{Status: "ready", Service: cfg.Service, Instance: cfg.Instance})
	})
}
