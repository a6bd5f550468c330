package overlord

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/buger/jsonparser"
	"go.opentelemetry.io/otel/trace"

	"eventually/pkg/messaging"
)

// Message is one message as overlord keeps it: its metadata in columns,
// its payload as it was sent, and the order and cart it is about.
type Message struct {
	// UUID is the message's identity: one row per message, however often
	// it is delivered. (SQLite's rowid keeps the arrival order.) A unique
	// index rather than the primary key, so a rebuild can build it after
	// loading the rows, sorted, as the other indexes (rebuild.go); stores
	// made with the primary key keep it, and work the same.
	UUID         string `gorm:"uniqueIndex;not null" json:"uuid"`
	Topic        string `gorm:"not null" json:"topic"`
	EventName    string `gorm:"index" json:"event_name"`
	EventVersion string `json:"event_version"`
	Producer     string `json:"producer"`
	// Instance is the producer's instance (EVENTUALLY_INSTANCE): which of
	// a service's instances handled the step that produced the message.
	Instance      string    `json:"instance,omitempty"`
	CorrelationID string    `gorm:"index" json:"correlation_id"`
	CausationID   string    `json:"causation_id"`
	OccurredAt    time.Time `gorm:"index" json:"occurred_at"`
	ReceivedAt    time.Time `json:"received_at"`
	// OrderGUID and CartGUID come from the payload. order.captured names
	// only the cart; order.approved names both and ties them together.
	OrderGUID string  `gorm:"index" json:"order_guid,omitempty"`
	CartGUID  string  `gorm:"index" json:"cart_guid,omitempty"`
	Payload   Payload `json:"payload"`
	// Set on messages of the poison topic.
	Poisoned           bool   `json:"poisoned"`
	PoisonReason       string `json:"poison_reason,omitempty"`
	PoisonConsumer     string `json:"poison_consumer,omitempty"`
	PoisonOriginalUUID string `json:"poison_original_uuid,omitempty"`

	// TraceID is the OpenTelemetry trace the message belongs to, from its
	// traceparent: where the same request is found in a trace viewer.
	TraceID string `json:"trace_id,omitempty"`
}

// Payload is a message body as it was sent. It is shown as JSON when it is
// JSON, else as a string: a poisoned message may be anything.
type Payload string

// MarshalJSON implements json.Marshaler.
func (p Payload) MarshalJSON() ([]byte, error) {
	if json.Valid([]byte(p)) {
		return []byte(p), nil
	}
	return json.Marshal(string(p))
}

// record turns a message into a row: its UUID, topic and payload, md
// reading its metadata by key, received at receivedAt. Metadata is read
// by key so that a rebuild reads it straight from the broker's headers.
func record(uuid, topic string, payload []byte, md func(key string) string, receivedAt time.Time) Message {
	row := Message{
		UUID: uuid, Topic: topic, ReceivedAt: receivedAt.UTC(),
		EventName:     md(messaging.EventNameKey),
		EventVersion:  md(messaging.EventVersionKey),
		Producer:      md(messaging.ProducerKey),
		Instance:      md(messaging.InstanceKey),
		CorrelationID: md(messaging.CorrelationIDKey),
		CausationID:   md(messaging.CausationIDKey),
		TraceID:       traceID(md(messaging.TraceParentKey)),
		Payload:       Payload(payload),
	}
	// A message without a readable occurred_at (a foreign one) is placed
	// at its arrival, so it still sorts among the others.
	row.OccurredAt = row.ReceivedAt
	if t, err := time.Parse(time.RFC3339Nano, md(messaging.OccurredAtKey)); err == nil {
		row.OccurredAt = t.UTC()
	}
	row.OrderGUID, row.CartGUID = guids(payload)
	if topic == messaging.PoisonTopic {
		row.Poisoned = true
		row.PoisonReason = md(messaging.PoisonReasonKey)
		row.PoisonConsumer = md(messaging.PoisonConsumerKey)
		row.PoisonOriginalUUID = md(messaging.PoisonOriginalUUIDKey)
	}
	return row
}

// traceID is the trace ID of a W3C traceparent
// (version-traceid-spanid-flags), or "" when it is not one. Parsed by
// hand: a rebuild does this for every message.
func traceID(traceparent string) string {
	if traceparent == "" {
		return "" // most messages with tracing off: no allocation
	}
	parts := strings.Split(traceparent, "-")
	if len(parts) < 4 || len(parts[0]) != 2 || len(parts[2]) != 16 {
		return ""
	}
	id, err := trace.TraceIDFromHex(parts[1])
	if err != nil || !id.IsValid() {
		return ""
	}
	return id.String()
}

// guidPaths are the payload fields that say which order a message is about.
var guidPaths = [][]string{{"order_guid"}, {"cart_guid"}}

// guids reads order_guid and cart_guid from the top level of a JSON
// payload in one pass, without decoding the rest: a rebuild does this for
// every message, and a full decode was a third of reading the stream. A
// payload that is not JSON (a poisoned message may be anything) yields
// what could be read, usually nothing.
func guids(payload []byte) (order, cart string) {
	jsonparser.EachKey(payload, func(i int, value []byte, typ jsonparser.ValueType, err error) {
		if err != nil || typ != jsonparser.String {
			return
		}
		s, err := jsonparser.ParseString(value)
		if err != nil {
			return
		}
		if i == 0 {
			order = s
		} else {
			cart = s
		}
	}, guidPaths...)
	return order, cart
}
