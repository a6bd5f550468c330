package supervisor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// process is a service that only remembers what it was told.
type process struct {
	mu      sync.Mutex
	running bool
	stage   int
}

func (p *process) Running() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.running }
func (p *process) Stop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
	return nil
}
func (p *process) Start(_ context.Context, stage int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running, p.stage = true, stage
	return nil
}

// The dashboard's calls reach the supervisor through the proxy under the
// secret path, with nothing of the browser's headers; anything else is
// refused with a reason and changes nothing.
func TestProxyPassesOnlyTheCallOn(t *testing.T) {
	charlie := &process{running: true}
	sup, err := New([]string{"charlie"}, map[string]Process{"charlie": charlie})
	if err != nil {
		t.Fatal(err)
	}
	var seen http.Header
	handler := sup.Handler("/s3cret")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		handler.ServeHTTP(w, r)
	}))
	defer backend.Close()
	proxy, err := Proxy(backend.URL + "/s3cret")
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, front.URL+path, strings.NewReader(body))
		req.Header.Set("Cookie", "session=abc")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := call("POST", "/api/processes/charlie/stop", ""); code != 200 || charlie.Running() {
		t.Fatalf("stop: %d %s; running %v", code, body, charlie.Running())
	}
	if seen.Get("Cookie") != "" {
		t.Errorf("the browser's cookie reached the supervisor: %v", seen)
	}
	for _, c := range []struct{ path, body, want string }{
		{"/api/processes/charlie/start", ``, "want {\"stage\": N}"},
		{"/api/processes/charlie/start", `{"stage": 7}`, "N from 0 to 6"},
		{"/api/processes/charlie/start", `{"stage": "x"}`, "want {\"stage\": N}"},
		{"/api/processes/overlord/stop", ``, `no service "overlord"`},
		{"/api/processes/charlie/restart", ``, `no action "restart"`},
	} {
		code, body := call("POST", c.path, c.body)
		var refusal struct{ Error string }
		if code/100 != 4 || json.Unmarshal([]byte(body), &refusal) != nil || !strings.Contains(refusal.Error, c.want) {
			t.Errorf("POST %s %s: %d %s, want a 4xx saying %q", c.path, c.body, code, body, c.want)
		}
	}
	if charlie.Running() {
		t.Fatal("a refused call started charlie")
	}
	if code, body := call("POST", "/api/processes/charlie/start", `{"stage": 5}`); code != 200 || !charlie.Running() || charlie.stage != 5 {
		t.Fatalf("start: %d %s; running %v at stage %d", code, body, charlie.Running(), charlie.stage)
	}
	if code, body := call("GET", "/api/processes", ""); code != 200 || body != `[{"name":"charlie","running":true}]`+"\n" {
		t.Errorf("list: %d %s", code, body)
	}

	backend.Close()
	if code, body := call("GET", "/api/processes", ""); code != http.StatusBadGateway || !strings.Contains(body, "does not answer") {
		t.Errorf("with the supervisor gone: %d %s, want 502 saying it does not answer", code, body)
	}
}

func TestProxyNeedsAnHTTPURL(t *testing.T) {
	for _, u := range []string{"", "nats://x:1/s", "http://"} {
		if _, err := Proxy(u); err == nil {
			t.Errorf("Proxy(%q) took it", u)
		}
	}
}
