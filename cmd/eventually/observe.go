package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"eventually/internal/system"
	"eventually/pkg/server"
	"eventually/pkg/telemetry"
)

// tracerProvider is a service's tracer provider (nil unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set) and how to flush it when the
// service stops, within a bound: every command stops within 5 s.
func tracerProvider(ctx context.Context, getenv func(string) string, name, instance string) (trace.TracerProvider, func(), error) {
	tp, shutdown, err := telemetry.NewTracerProvider(ctx, getenv, name, instance)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return tp, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = shutdown(ctx) // spans not sent by now are lost, as on a crash
	}, nil
}

// servePprof serves Go's profiles (/debug/pprof/) on addr until ctx is
// done, when addr is set. It has a listener of its own, never a service's
// port: profiles show a process's inside and cost CPU while taken, so
// they are opt-in and stay on loopback unless told otherwise. The
// handlers are registered on a mux of its own, not http.DefaultServeMux.
func servePprof(ctx context.Context, addr string) (func() error, error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	ln, err := server.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvPprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("pprof: %w", err)
		}
		return nil
	}, nil
}

// childPprofAddr is the profile address of one of boot's children: each
// service of the table at the next port after the one before it (alpha at
// the given port, beta at port+1, ...), so they do not collide.
func childPprofAddr(addr, name string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || port == 0 {
		return "", fmt.Errorf("%s=%q: want host:port with a fixed port, e.g. 127.0.0.1:6060", EnvPprofAddr, addr)
	}
	for i, s := range system.Table() {
		if s.Name == name {
			return net.JoinHostPort(host, strconv.Itoa(port+i)), nil
		}
	}
	return "", fmt.Errorf("unknown service %q", name)
}
