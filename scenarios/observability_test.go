package scenarios

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	st "eventually/internal/systemtest"
)

// tracer records, in memory, the spans of every start of every service.
type tracer struct {
	mu     sync.Mutex
	starts map[string][]*tracetest.InMemoryExporter // by service, one per start
}

func newTracer() *tracer { return &tracer{starts: map[string][]*tracetest.InMemoryExporter{}} }

// provider is systemtest's Tracing: a new in-memory exporter per start.
func (tr *tracer) provider(service string) trace.TracerProvider {
	exp := tracetest.NewInMemoryExporter()
	tr.mu.Lock()
	tr.starts[service] = append(tr.starts[service], exp)
	tr.mu.Unlock()
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
}

// spans are the ended spans of one start of a service (the last: -1) in
// the trace, by name.
func (tr *tracer) spans(service string, start int, traceID trace.TraceID) map[string][]tracetest.SpanStub {
	tr.mu.Lock()
	starts := tr.starts[service]
	tr.mu.Unlock()
	if start < 0 {
		start += len(starts)
	}
	out := map[string][]tracetest.SpanStub{}
	if start < 0 || start >= len(starts) {
		return out
	}
	for _, s := range starts[start].GetSpans() {
		if s.SpanContext.TraceID() == traceID {
			out[s.Name] = append(out[s.Name], s)
		}
	}
	return out
}

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// One submit with a caller's traceparent: beta, alpha and charlie make
// spans in that trace, each consumer's span the child of the publish span
// of the message it handles, that publish span the child of the span
// that wrote the event; and each service's log lines of the request
// carry the trace ID.
func TestOneTraceFromClickToLedger(t *testing.T) {
	tr := newTracer()
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true, Tracing: tr.provider})
	traceID, _ := trace.TraceIDFromHex(callerTrace)
	loadCart(t, s, seedCart)
	submit(t, s, seedCart, "X-Request-ID", "trace-demo-1", "traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	st.Eventually(t, wait, "beta handles order.finalized in the trace", func() bool {
		return len(tr.spans("beta", -1, traceID)["process order.finalized"]) > 0
	})

	beta, alpha, charlie := tr.spans("beta", -1, traceID), tr.spans("alpha", -1, traceID), tr.spans("charlie", -1, traceID)
	request := one(t, "beta", beta, "POST /api/carts/:guid/submit")
	if got := request.Parent.SpanID().String(); got != callerSpan || !request.Parent.IsRemote() {
		t.Fatalf("beta's request span has parent %s, want the caller's span %s", got, callerSpan)
	}
	// Each hop: the publish span is the child of the span that wrote the
	// event; the consumer's span is the child of the publish span.
	hops := []struct{ producer, consumer, event, writer string }{
		{"beta", "alpha", "order.captured", "POST /api/carts/:guid/submit"},
		{"alpha", "charlie", "order.approved", "process order.captured"},
		{"charlie", "alpha", "order.charged", "process order.approved"},
		{"alpha", "beta", "order.finalized", "process order.charged"},
	}
	byName := map[string]map[string][]tracetest.SpanStub{"beta": beta, "alpha": alpha, "charlie": charlie}
	for _, h := range hops {
		writer := one(t, h.producer, byName[h.producer], h.writer)
		publish := one(t, h.producer, byName[h.producer], "publish "+h.event)
		process := one(t, h.consumer, byName[h.consumer], "process "+h.event)
		if publish.Parent.SpanID() != writer.SpanContext.SpanID() {
			t.Errorf("%s's publish %s: parent %s, want %q %s", h.producer, h.event, publish.Parent.SpanID(), h.writer, writer.SpanContext.SpanID())
		}
		if process.Parent.SpanID() != publish.SpanContext.SpanID() {
			t.Errorf("%s's process %s: parent %s, want %s's publish span %s", h.consumer, h.event, process.Parent.SpanID(), h.producer, publish.SpanContext.SpanID())
		}
	}
	// Overlord watches the same messages, in the same trace.
	if len(tr.spans("overlord", -1, traceID)["process order.captured"]) == 0 {
		t.Error("overlord has no span of order.captured in the trace")
	}

	// Overlord's timeline of the request names the trace, in its JSON and
	// on its page.
	var timeline struct {
		TraceIDs []string `json:"trace_ids"`
	}
	st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/requests/trace-demo-1", nil), 200).JSON(t, &timeline)
	if len(timeline.TraceIDs) != 1 || timeline.TraceIDs[0] != callerTrace {
		t.Errorf("overlord's timeline has trace IDs %q, want [%s]", timeline.TraceIDs, callerTrace)
	}
	if page := st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/requests/trace-demo-1", nil), 200); !strings.Contains(string(page.Body), callerTrace) {
		t.Error("overlord's request page does not show the trace ID")
	}

	for _, service := range []string{"beta", "alpha", "charlie"} {
		lines := requestLines(t, s, service, "trace-demo-1")
		if len(lines) == 0 {
			t.Errorf("%s wrote no line of request trace-demo-1", service)
		}
		for _, l := range lines {
			if l["trace_id"] != callerTrace || l["span_id"] == nil {
				t.Errorf("%s: a line of the request without its trace: %v", service, l)
			}
		}
	}
}

// The trace context is stored with the outbox row: an event written while
// the broker is down, by a service that is then restarted, is published
// by the new process in the same trace, as the child of the request span
// of the old one, and its consumer's span is the child of that publish.
func TestTraceSurvivesARestartBeforePublish(t *testing.T) {
	tr := newTracer()
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true, Tracing: tr.provider})
	const trace2 = "0af7651916cd43dd8448eb211c80319c"
	traceID, _ := trace.TraceIDFromHex(trace2)
	loadCart(t, s, seedCart)
	s.StopBroker()
	submit(t, s, seedCart, "traceparent", "00-"+trace2+"-b7ad6b7169203331-01")
	s.StopService("beta")
	s.StartBroker()
	s.StartService("beta")

	st.Eventually(t, wait, "alpha handles order.captured in the trace", func() bool {
		return len(tr.spans("alpha", -1, traceID)["process order.captured"]) > 0
	})
	request := one(t, "beta (first start)", tr.spans("beta", 0, traceID), "POST /api/carts/:guid/submit")
	publish := one(t, "beta (restarted)", tr.spans("beta", 1, traceID), "publish order.captured")
	process := one(t, "alpha", tr.spans("alpha", -1, traceID), "process order.captured")
	if publish.Parent.SpanID() != request.SpanContext.SpanID() {
		t.Errorf("the publish after the restart: parent %s, want the request span %s", publish.Parent.SpanID(), request.SpanContext.SpanID())
	}
	if process.Parent.SpanID() != publish.SpanContext.SpanID() {
		t.Errorf("alpha's process span: parent %s, want the publish span %s", process.Parent.SpanID(), publish.SpanContext.SpanID())
	}
}

// one is the one span of a name in a service's spans of a trace.
func one(t *testing.T, service string, spans map[string][]tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	var ok []tracetest.SpanStub
	for _, s := range spans[name] {
		if s.Status.Code != codes.Error { // not a publish tried while the broker was away
			ok = append(ok, s)
		}
	}
	if len(ok) != 1 {
		names := []string{}
		for n, ss := range spans {
			names = append(names, fmt.Sprintf("%s×%d", n, len(ss)))
		}
		t.Fatalf("%s: %d successful spans %q in the trace, want 1 (has %v)", service, len(ok), name, names)
	}
	return ok[0]
}

// requestLines are a service's JSON log lines of one request.
func requestLines(t *testing.T, s *st.System, service, requestID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range logLines(t, s, service, requestID) {
		if line["request_id"] == requestID {
			out = append(out, line)
		}
	}
	return out
}
