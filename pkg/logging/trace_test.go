package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// A line written inside a span carries its trace_id and span_id; a line
// outside any span carries neither.
func TestLinesInASpanCarryItsIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, "beta", 0)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "in a span")
	logger.InfoContext(context.Background(), "outside")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	var in, out map[string]any
	if err := json.Unmarshal(lines[0], &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &out); err != nil {
		t.Fatal(err)
	}
	if in[TraceIDKey] != "4bf92f3577b34da6a3ce929d0e0e4736" || in[SpanIDKey] != "00f067aa0ba902b7" {
		t.Fatalf("line in a span: %v", in)
	}
	if _, ok := out[TraceIDKey]; ok {
		t.Fatalf("line outside a span has a trace_id: %v", out)
	}
}
