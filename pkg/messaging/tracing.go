package messaging

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"eventually/pkg/stream"
	"eventually/pkg/telemetry"
)

// Tracing across the outbox. The W3C trace context of the span that
// writes an event (an HTTP request's, or a handled message's) is stored
// in the outbox row's metadata, in the same transaction as the state
// change, so a trace survives a crash between commit and publish. The
// relay continues it with a publish span and puts that span's context in
// the message it sends; a consumer's handler span is a child of it.
//
// Why child of, not linked to: each message has one producer and is
// handled by each consumer on its own, so the trace of one click is a
// tree (request, publish, handle, publish, handle, ...) that a viewer
// shows whole, with the waits between the steps. Links are for a
// consumer that handles many messages in one span, or that starts a
// trace of its own; neither happens here. A redelivery is another child
// of the same publish span, which is what it is.

// The metadata keys of the W3C trace context (TraceContext's own names).
const (
	TraceParentKey = "traceparent"
	TraceStateKey  = "tracestate"
)

// tracing makes the bus's spans. With no tracer provider it makes none,
// at no cost, and only passes on a trace context that came in.
type tracing struct {
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	enabled bool
}

func newTracing(tp trace.TracerProvider) tracing {
	t := tracing{tracer: noop.NewTracerProvider().Tracer(""), prop: telemetry.Propagator(), enabled: tp != nil}
	if tp != nil {
		t.tracer = tp.Tracer("eventually/pkg/messaging")
	}
	return t
}

// inject writes the trace context of ctx into md, when ctx has one.
func (t tracing) inject(ctx context.Context, md map[string]string) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return // the common case with tracing off: nothing to write
	}
	t.prop.Inject(ctx, propagation.MapCarrier(md))
}

// extract is ctx with the trace context of md, when md has one.
func (t tracing) extract(ctx context.Context, md map[string]string) context.Context {
	if md[TraceParentKey] == "" {
		return ctx
	}
	return t.prop.Extract(ctx, propagation.MapCarrier(md))
}

// withSpan runs a handler in a consumer span, the child of the publish
// span whose context the message carries (or a new trace without one).
// With tracing off, the message's trace context is only passed on, so
// the logs and the messages the handler writes still carry it.
func (b *Bus) withSpan(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := b.tracing.extract(msg.Context(), msg.Metadata)
		if !b.tracing.enabled {
			msg.SetContext(ctx)
			return h(msg)
		}
		name := msg.Metadata.Get(EventNameKey)
		ctx, span := b.tracing.tracer.Start(ctx, "process "+name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "nats"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.destination.name", name),
				attribute.String("messaging.consumer.group.name", message.HandlerNameFromCtx(msg.Context())),
				attribute.String("messaging.message.id", msg.UUID),
				attribute.String("messaging.message.conversation_id", msg.Metadata.Get(CorrelationIDKey)),
				attribute.String("eventually.delivery_count", msg.Metadata.Get(stream.DeliveryCountKey)),
			))
		defer span.End()
		msg.SetContext(ctx)
		out, err := h(msg)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return out, err
	}
}

// publishSpans starts a producer span for each message of a relay batch
// that carries a trace context (the one stored with its outbox row), and
// puts the span's own context in the message in its place, so the
// consumer's span is the child of this publish. A message without one
// gets no span: the relay continues traces, it does not start them.
func (t tracing) publishSpans(ctx context.Context, msgs []stream.Message) []trace.Span {
	if !t.enabled {
		return nil
	}
	spans := make([]trace.Span, len(msgs))
	for i, m := range msgs {
		parent := t.extract(ctx, m.Metadata)
		if !trace.SpanContextFromContext(parent).IsValid() {
			continue
		}
		sctx, span := t.tracer.Start(parent, "publish "+m.Topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("messaging.system", "nats"),
				attribute.String("messaging.operation.type", "send"),
				attribute.String("messaging.destination.name", m.Topic),
				attribute.String("messaging.message.id", m.UUID),
				attribute.String("messaging.message.conversation_id", m.Metadata[CorrelationIDKey]),
			))
		t.inject(sctx, m.Metadata)
		spans[i] = span
	}
	return spans
}

// endPublishSpans ends the spans of a batch with what the broker said of
// each message.
func endPublishSpans(spans []trace.Span, errs []error) {
	for i, span := range spans {
		if span == nil {
			continue
		}
		if errs[i] != nil {
			span.RecordError(errs[i])
			span.SetStatus(codes.Error, errs[i].Error())
		}
		span.End()
	}
}
