package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
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

// With an endpoint, spans are made, and shutdown sends them there by
// OTLP over HTTP.
func TestExportsWhenAnEndpointIsSet(t *testing.T) {
	received := make(chan string, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")
	}))
	defer collector.Close()
	t.Setenv(EnvEndpoint, collector.URL) // the exporter reads it itself
	tp, shutdown, err := NewTracerProvider(context.Background(), env(map[string]string{EnvEndpoint: collector.URL}), "alpha", "a-1")
	if err != nil || tp == nil {
		t.Fatalf("provider %v, error %v", tp, err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "work")
	if !span.IsRecording() || !span.SpanContext().IsSampled() {
		t.Fatal("span not recorded")
	}
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-received:
		if got != "POST /v1/traces application/x-protobuf" {
			t.Fatalf("collector got %q", got)
		}
	default:
		t.Fatal("no spans reached the collector")
	}
}
