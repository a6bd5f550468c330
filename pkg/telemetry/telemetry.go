// Package telemetry builds what a service needs to be followed with the
// tools teams already run: an OpenTelemetry tracer provider that exports
// by OTLP when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set, and the
// W3C trace context propagator that carries a trace across HTTP and
// messages.
package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// The standard variables that turn export on (OTLP exporter
// specification); the exporter itself reads them and the rest of
// OTEL_EXPORTER_OTLP_* (headers, timeout, protocol details).
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
)

// Propagator is how a trace context travels: the W3C `traceparent` and
// `tracestate`, in HTTP headers and in message metadata alike. It is
// passed to whoever needs it rather than set as otel's global.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Enabled says whether the environment asks for traces to be exported.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv(EnvSDKDisabled), "true") {
		return false
	}
	return getenv(EnvEndpoint) != "" || getenv(EnvTracesEndpoint) != ""
}

// NewTracerProvider is the tracer provider of one service: spans batched
// and exported by OTLP over HTTP when Enabled, else nil. Nil means off
// everywhere in the project, and off costs nothing: no span is made, and
// a caller's trace context is only passed on as it came. shutdown flushes
// what is left; call it when the service stops.
func NewTracerProvider(ctx context.Context, getenv func(string) string, service, instance string) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	if !Enabled(getenv) {
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service), semconv.ServiceInstanceID(instance))
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return sdk, sdk.Shutdown, nil
}
