package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"eventually/internal/poll"
	"eventually/pkg/domain"
	"eventually/pkg/logging"
	"eventually/pkg/stage"
)

// logFile is where a test server writes its JSON log lines: a file, so
// the test reads them while the server writes.
type logFile struct{ path string }

// lines are the log lines written so far, decoded.
func (f logFile) lines(t *testing.T) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// accessLine is the access log line of uri, or nil.
func (f logFile) accessLine(t *testing.T, uri string) map[string]any {
	for _, l := range f.lines(t) {
		if l["msg"] == "http request" && l["uri"] == uri {
			return l
		}
	}
	return nil
}

// loggedServer is a server whose log lines go to the returned buffer,
// with routes that fail as handlers do.
func loggedServer(t *testing.T) (*echo.Echo, logFile) {
	t.Helper()
	logs := logFile{filepath.Join(t.TempDir(), "test.log")}
	w, err := os.Create(logs.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	st, _ := stage.New(stage.Max)
	e := New(Config{Service: "test", Logger: logging.New(w, "test", slog.LevelInfo), Stage: st, Live: NewLive(),
		Browser: Browser{Hosts: []string{"example.com"}}})
	e.POST("/api/things/:id/approve", func(c echo.Context) error {
		return fmt.Errorf("thing %s: not pending: %w", c.Param("id"), domain.ErrConflict)
	})
	// As a handler whose database call ends with the request's context.
	e.GET("/api/slow", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return fmt.Errorf("load things: %w", c.Request().Context().Err())
	})
	return e, logs
}

// The access log line has the status the client got, not 200.
func TestAccessLogHasTheStatusTheClientGot(t *testing.T) {
	e, logs := loggedServer(t)
	for _, tc := range []struct {
		method, uri, body string
		status            int
	}{
		{"GET", "/no/such/page", "", 404},
		{"POST", "/api/things/t1/approve", "", 409},
		{"PUT", "/api/stage", "", 415},
		{"PUT", "/api/stage?ok", `{"stage":2}`, 200},
	} {
		req := httptest.NewRequest(tc.method, tc.uri, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Fatalf("%s %s answered %d, want %d", tc.method, tc.uri, rec.Code, tc.status)
		}
		line := logs.accessLine(t, tc.uri)
		if line == nil || line["status"] != float64(tc.status) || line["request_id"] == "" {
			t.Errorf("%s %s: access log line %v, want status %d and the request ID", tc.method, tc.uri, line, tc.status)
		}
	}
}

// A client that half-closes its connection while its request is handled
// (the request's context ends, so the handler's database call fails) is
// logged once as INFO, not as an ERROR with a 500.
func TestClientGoneIsNotAnError(t *testing.T) {
	e, logs := loggedServer(t)
	srv := httptest.NewServer(e)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/slow HTTP/1.1\r\nHost: %s\r\n\r\n", srv.Listener.Addr())
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool { return logs.accessLine(t, "/api/slow") != nil }) {
		t.Fatalf("no access log line for the abandoned request: %v", logs.lines(t))
	}
	abandoned := 0
	for _, l := range logs.lines(t) {
		if l["level"] == "ERROR" {
			t.Errorf("logged as an error: %v", l)
		}
		if strings.HasPrefix(fmt.Sprint(l["msg"]), "request abandoned") {
			abandoned++
		}
	}
	if line := logs.accessLine(t, "/api/slow"); abandoned != 1 || line["status"] == float64(500) {
		t.Errorf("%d abandoned lines, access line %v: want one INFO line and no 500", abandoned, line)
	}
}

// A client that trickles its request body is cut off at the read
// timeout: it gets a 408 and the connection is closed, instead of holding
// it for as long as it likes.
func TestSlowClientIsCutOff(t *testing.T) {
	e, _ := loggedServer(t)
	srv := httpServer(context.Background(), e)
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.IdleTimeout == 0 || srv.WriteTimeout <= 25*time.Second {
		t.Fatalf("timeouts header %s, read %s, write %s, idle %s: want all set, write above a long poll",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	// The same server with a short read timeout, so the test is quick.
	const limit = 300 * time.Millisecond
	srv.ReadTimeout = limit
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve(ctx, srv, ln)

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "PUT /api/stage HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	go func() { // the client trickles: one byte every 50 ms, for up to 20 s
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 400 {
			<-tick.C
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the slow client: %v", err)
	}
	body, _ := io.ReadAll(res.Body) // to the end: the server closes the connection
	if took := time.Since(start); res.StatusCode != http.StatusRequestTimeout || took > limit+2*time.Second {
		t.Fatalf("answered %d %s after %s; want 408 soon after the %s read timeout", res.StatusCode, body, took, limit)
	}
	if !res.Close && res.Header.Get("Connection") != "close" {
		t.Errorf("the connection stays open after the timeout")
	}
}

// A busy address is named, and said to be in use.
func TestListenOnABusyAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	_, err = Listen(addr)
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Listen on a busy %s: %v; want an error naming it, saying it is in use", addr, err)
	}
}

// /healthz is liveness, 200 whenever the process serves; /readyz is 200
// only while the service is ready, else 503 with the reason.
func TestHealthIsLivenessReadyzIsReadiness(t *testing.T) {
	var mu sync.Mutex
	reason := errors.New("consumer alpha on order.charged: not subscribed")
	st, _ := stage.New(stage.Max)
	e := New(Config{Service: "alpha", Instance: "alpha-2", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{Hosts: []string{"example.com"}},
		Ready: func() error {
			mu.Lock()
			defer mu.Unlock()
			return reason
		}})
	get := func(path string) (int, Readiness) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var r Readiness
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("GET %s: %s: %v", path, rec.Body, err)
		}
		return rec.Code, r
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz while not ready: %d, want 200 (the process is alive)", code)
	}
	if code, r := get("/readyz"); code != 503 || r.Status != "not ready" || r.Reason != reason.Error() || r.Service != "alpha" || r.Instance != "alpha-2" {
		t.Errorf("/readyz while not ready: %d %+v, want 503 with the reason", code, r)
	}
	mu.Lock()
	reason = nil
	mu.Unlock()
	if code, r := get("/readyz"); code != 200 || r.Status != "ready" || r.Reason != "" {
		t.Errorf("/readyz when ready: %d %+v, want 200 ready", code, r)
	}
}

// rawRequest sends text as it is to the server at url and reads the answer.
func rawRequest(t *testing.T, url, text string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
