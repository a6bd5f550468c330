package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"eventually/pkg/requestid"
)

// Every line written with a request's context carries its request_id,
// and the service name.
func TestLinesCarryRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, "alpha", 0).With("component", "test")
	logger.InfoContext(requestid.With(context.Background(), "demo-42"), "order approved", "order_guid", "o-1")
	logger.Info("no request")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal(lines[0], &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &second); err != nil {
		t.Fatal(err)
	}
	if first[RequestIDKey] != "demo-42" || first["service"] != "alpha" || first["order_guid"] != "o-1" {
		t.Fatalf("first line %v", first)
	}
	if _, ok := second[RequestIDKey]; ok {
		t.Fatalf("a line without a request has request_id: %v", second)
	}
}
