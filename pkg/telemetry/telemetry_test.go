package telemetry

import (
	"context"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// No endpoint, no provider: nothing is made, nothing is exported.
func TestOffUnlessAnEndpointIsSet(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"nothing set":  {},
		"sdk disabled": {EnvEndpoint: "http://127.0.0.1:4318", EnvSDKDisabled: "true"},
	} {
		tp, shutdown, err := NewTracerProvider(context.Background(), env(vars), "alpha", "a-1")
		if err != nil || tp != nil || shutdown(context.Background()) != nil {
			t.Errorf("%s: provider %v, error %v; want none", name, tp, err)
		}
	}
	for _, key := range []string{EnvEndpoint, EnvTracesEndpoint} {
		if !Enabled(env(map[string]string{key: "http://127.0.0.1:4318"})) {
			t.Errorf("%s set: not enabled", key)
		}
	}
}

// With an endpoint, spans are made and sampled; shutdown returns within
// its context even when nothing listens there.
func TestExportsWhenAnEndpointIsSet(t *testing.T) {
	t.Setenv(EnvEndpoint, "http://127.0.0.1:9") // the exporter reads it too
	tp, shutdown, err := NewTracerProvider(context.Background(), env(map[string]string{EnvEndpoint: "http://127.0.0.1:9"}), "alpha", "a-1")
	if err != nil || tp == nil {
		t.Fatalf("provider %v, error %v", tp, err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "work")
	if !span.IsRecording() || !span.SpanContext().IsSampled() {
		t.Fatal("span not recorded")
	}
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = shutdown(ctx) // nothing listens: the export fails, in time
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
}
