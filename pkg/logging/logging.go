// Package logging builds the JSON slog logger every service uses. Every
// line written with a context that carries a request ID gets the
// `request_id` attribute, the one name all services share; a line written
// inside a trace's span gets `trace_id` and `span_id`, so a trace viewer
// and the logs point at each other.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"go.opentelemetry.io/otel/trace"

	"eventually/pkg/requestid"
)

// RequestIDKey is the attribute name of the request ID in every log line.
const RequestIDKey = "request_id"

// The attribute names of the trace and span a line was written in, as
// OpenTelemetry's log data model names them.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// New returns a JSON logger for one service writing to w.
func New(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(contextHandler{h}).With("service", service)
}

// Discard is a logger that writes nothing, for tests that do not read logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// contextHandler adds the request ID and the span of the record's context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestid.From(ctx); id != "" {
		r.AddAttrs(slog.String(RequestIDKey, id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String(TraceIDKey, sc.TraceID().String()), slog.String(SpanIDKey, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// ToFile returns a service's logger writing JSON lines to
// <logDir>/<service>.log (which `eventually logs` reads) and to also, when
// it is not nil. Close the returned file when the service stops.
func ToFile(logDir, service string, also io.Writer) (*slog.Logger, io.Closer, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(logDir, service+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	var w io.Writer = f
	if also != nil {
		w = io.MultiWriter(also, f)
	}
	return New(w, service, slog.LevelInfo), f, nil
}
