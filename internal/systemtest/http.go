package systemtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Response is an HTTP answer, read whole.
type Response struct {
	Status    int
	Body      []byte
	RequestID string
	Header    http.Header
}

// JSON decodes the body into v or fails the test.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes a JSON object body.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

var client = &http.Client{Timeout: 10 * time.Second}

// Call sends a request with a JSON body (nil for none; a string or []byte
// is sent as it is, for malformed-input tests) and optional header pairs.
func Call(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		return Response{Status: 0, Body: []byte(err.Error())}
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Body: data, RequestID: res.Header.Get("X-Request-ID"), Header: res.Header}
}

// Must fails the test unless the response has the wanted status.
func Must(t testing.TB, r Response, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// Refusal is the JSON body of an error answer.
type Refusal struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// Answered tells whether r is a success (2xx), and fails the test unless
// it is one or a clear refusal: a 4xx with a JSON error and the request
// ID. Never a 5xx, never a refusal without a reason. For fuzz targets.
func Answered(t testing.TB, what string, r Response) bool {
	t.Helper()
	if r.Status >= 200 && r.Status < 300 {
		return true
	}
	var body Refusal
	if r.Status < 400 || r.Status >= 500 || json.Unmarshal(r.Body, &body) != nil || body.Error == "" || body.RequestID == "" {
		t.Fatalf("%s: status %d %q; want 2xx, or 4xx with a JSON error and the request ID", what, r.Status, r.Body)
	}
	return false
}
