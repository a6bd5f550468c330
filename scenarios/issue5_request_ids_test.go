package scenarios

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "eventually/internal/systemtest"
)

var lifecycle = []string{"order.captured", "order.approved", "order.charged", "order.finalized"}

// submitAndFinalize submits the seed cart with a request ID (auto-approve
// on) and waits until the cart reopens.
func submitAndFinalize(t *testing.T, s *st.System, requestID string) {
	t.Helper()
	loadCart(t, s, seedCart)
	submit(t, s, seedCart, "X-Request-ID", requestID)
	st.Eventually(t, wait, "cart reopens", func() bool { return getCart(t, s, seedCart).Status == "open" })
}

// logLines reads every JSON log line of a service that mentions the cart.
func logLines(t *testing.T, s *st.System, service, mention string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(s.LogDir, service+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if !strings.Contains(scanner.Text(), mention) {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			t.Fatalf("%s log line is not JSON: %s", service, scanner.Text())
		}
		lines = append(lines, line)
	}
	return lines
}

// Stage 5: one request ID follows the customer's action through every
// message and every service's log.
func TestIssue5AfterOneRequestIDAcrossServices(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	submitAndFinalize(t, s, "demo-42")

	previous := ""
	for _, topic := range lifecycle {
		m := s.LastMessage(topic)
		if got := m.Metadata["correlation_id"]; got != "demo-42" {
			t.Errorf("%s correlation_id %q, want demo-42", topic, got)
		}
		if got := m.Metadata["causation_id"]; got != previous {
			t.Errorf("%s causation_id %q, want the UUID of the message before (%q)", topic, got, previous)
		}
		previous = m.UUID
	}
	for _, service := range []string{"alpha", "beta", "charlie"} {
		lines := logLines(t, s, service, `"order_guid"`)
		if service == "beta" {
			lines = logLines(t, s, service, `"cart submitted"`)
		}
		if len(lines) == 0 {
			t.Fatalf("%s wrote no line about the order", service)
		}
		for _, line := range lines {
			if line["request_id"] != "demo-42" {
				t.Errorf("%s line %q has request_id %v, want demo-42", service, line["msg"], line["request_id"])
			}
		}
	}
}

// Stage 4: each service makes up IDs of its own; the chain cannot be followed.
func TestIssue5BeforeEachServiceUsesOwnIDs(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 4, AutoApprove: true})
	submitAndFinalize(t, s, "demo-42")
	if got := s.LastMessage("order.captured").Metadata["correlation_id"]; got != "demo-42" {
		t.Fatalf("beta's order.captured should still carry the edge ID, got %q", got)
	}
	for _, topic := range lifecycle[1:] {
		if got := s.LastMessage(topic).Metadata["correlation_id"]; got == "demo-42" {
			t.Errorf("stage 4: %s carries the customer's request ID", topic)
		}
	}
	for _, service := range []string{"alpha", "charlie"} {
		for _, line := range logLines(t, s, service, `"order_guid"`) {
			if line["request_id"] == "demo-42" {
				t.Errorf("stage 4: %s line %q carries demo-42", service, line["msg"])
			}
		}
	}
}

// A hostile X-Request-ID is replaced by a generated one and cannot inject
// log lines.
func TestHostileRequestIDIsReplaced(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	for name, hostile := range map[string]string{
		"too long":      strings.Repeat("a", 500),
		"control chars": "abc\x01def",
		"newline":       "abc\n{\"level\":\"ERROR\",\"msg\":\"injected\"}",
		"spaces":        "a b c",
	} {
		// Sent raw: Go's HTTP client refuses to send such headers at all.
		status, requestID := rawGet(t, s.URL("alpha"), "/api/settings", hostile)
		if status == 400 && requestID == "" {
			continue // the HTTP server itself rejected the malformed header
		}
		if status != 200 || requestID == hostile || requestID == "" || len(requestID) > 128 {
			t.Errorf("%s: answered %d with X-Request-ID %q", name, status, requestID)
		}
	}
	if lines := logLines(t, s, "alpha", "injected"); len(lines) > 0 {
		t.Fatalf("a request ID injected log lines: %v", lines)
	}
}

// rawGet sends a GET with a raw X-Request-ID header line and returns the
// status and the X-Request-ID answered.
func rawGet(t *testing.T, baseURL, path, requestID string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Request-ID: %s\r\nConnection: close\r\n\r\n", path, conn.RemoteAddr(), requestID)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Request-ID")
}

// A background job is an edge too: alpha's review timer makes up a
// request ID for its run, and the order.finalized it publishes, alpha's
// and beta's log lines and overlord's request view all carry it.
func TestIssue5ReviewTimerRequestIDAcrossServices(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/review",
		map[string]any{"enabled": true, "pass_after_seconds": 1}), 200)
	submitAndFinalize(t, s, "demo-43") // the timer passes the review

	finalized := s.LastMessage("order.finalized")
	id := finalized.Metadata["correlation_id"]
	if !strings.HasPrefix(id, "review-timer-") || finalized.Metadata["causation_id"] != "" {
		t.Fatalf("order.finalized has correlation_id %q, causation_id %q; want the timer's own, from its edge",
			id, finalized.Metadata["causation_id"])
	}
	for service, msg := range map[string]string{"alpha": "order finalized", "beta": "cart reopened"} {
		st.Eventually(t, wait, service+" logs "+msg+" under "+id, func() bool {
			for _, line := range logLines(t, s, service, id) {
				if line["msg"] == msg && line["request_id"] == id {
					return true
				}
			}
			return false
		})
	}
	st.Eventually(t, wait, "overlord's view of "+id, func() bool {
		r := st.Call(t, "GET", s.URL("overlord")+"/api/requests/"+id, nil)
		return r.Status == 200 && strings.Contains(string(r.Body), `"order.finalized"`)
	})
}
