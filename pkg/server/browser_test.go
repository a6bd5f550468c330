package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"eventually/pkg/logging"
	"eventually/pkg/stage"
)

const dashboard = "http://127.0.0.1:3994"

// browserTarget is a service on a real listener (so the Host check sees
// the address the connection came in on), with the stage and a
// body-less POST that counts its calls, as approve or new cart are.
type browserTarget struct {
	url   string // http://127.0.0.1:port
	port  string
	stage *stage.Stage
	pokes atomic.Int32
}

func startBrowserTarget(t *testing.T) *browserTarget {
	t.Helper()
	st, _ := stage.New(3)
	b := &browserTarget{stage: st}
	e := New(Config{Service: "test", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{DashboardOrigins: []string{dashboard}, Hosts: []string{"alpha:3991", "svc"}}})
	e.POST("/api/poke", func(c echo.Context) error {
		b.pokes.Add(1)
		return c.NoContent(http.StatusNoContent)
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b.url = srv.URL
	b.port = srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	return b
}

type browserCall struct {
	name   string
	method string
	path   string
	host   string // "" for the address of the connection
	header map[string]string
	body   string
}

func (b *browserTarget) do(t *testing.T, call browserCall) *http.Response {
	t.Helper()
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	req, err := http.NewRequest(call.method, b.url+call.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if call.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range call.header {
		req.Header.Set(k, v)
	}
	if call.host != "" {
		req.Host = call.host
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// A page from any origin but the dashboard's and the service's own gets
// 403 for a state change, with or without a preflight, and the preflight
// itself is refused; nothing changes. Not even a page opened from disk
// (origin "null").
func TestForeignPagesCannotChangeState(t *testing.T) {
	b := startBrowserTarget(t)
	putStage := `{"stage":1}`
	for _, call := range []browserCall{
		{name: "PUT stage from another site", method: "PUT", path: "/api/stage", body: putStage,
			header: map[string]string{"Origin": "http://evil.example"}},
		{name: "body-less POST (no preflight) from another site", method: "POST", path: "/api/poke",
			header: map[string]string{"Origin": "http://evil.example"}},
		{name: "PUT stage from a page opened from disk", method: "PUT", path: "/api/stage", body: putStage,
			header: map[string]string{"Origin": "null"}},
		{name: "POST from another port of this machine", method: "POST", path: "/api/poke",
			header: map[string]string{"Origin": "http://127.0.0.1:8080"}},
		{name: "DELETE from another site", method: "DELETE", path: "/api/poke",
			header: map[string]string{"Origin": "https://evil.example"}},
		{name: "preflight from another site", method: "OPTIONS", path: "/api/stage",
			header: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"}},
		{name: "preflight from a page opened from disk", method: "OPTIONS", path: "/api/stage",
			header: map[string]string{"Origin": "null", "Access-Control-Request-Method": "PUT"}},
	} {
		t.Run(call.name, func(t *testing.T) {
			res := b.do(t, call)
			wantJSONError(t, res, http.StatusForbidden)
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin %q on a refusal", got)
			}
			if b.stage.Get() != 3 || b.pokes.Load() != 0 {
				t.Errorf("refused, yet the stage is %d and poke ran %d times", b.stage.Get(), b.pokes.Load())
			}
		})
	}
}

// The dashboard's origin, the service's own pages and clients that are
// not browsers (no Origin) may change state; the dashboard's preflight
// is answered and it may read the answers; another origin's GET passes
// but its page may not read the answer.
func TestDashboardOwnPagesAndToolsMayChangeState(t *testing.T) {
	b := startBrowserTarget(t)
	own := b.url
	for _, tc := range []struct {
		call      browserCall
		status    int
		allowRead string // Access-Control-Allow-Origin
	}{
		{browserCall{name: "dashboard preflight", method: "OPTIONS", path: "/api/stage",
			header: map[string]string{"Origin": dashboard, "Access-Control-Request-Method": "PUT"}}, 204, dashboard},
		{browserCall{name: "dashboard PUT", method: "PUT", path: "/api/stage", body: `{"stage":1}`,
			header: map[string]string{"Origin": dashboard}}, 200, dashboard},
		{browserCall{name: "own page POST", method: "POST", path: "/api/poke",
			header: map[string]string{"Origin": own}}, 204, ""},
		{browserCall{name: "curl POST", method: "POST", path: "/api/poke"}, 204, ""},
		{browserCall{name: "dashboard GET", method: "GET", path: "/api/stage",
			header: map[string]string{"Origin": dashboard}}, 200, dashboard},
		{browserCall{name: "another site's GET", method: "GET", path: "/api/stage",
			header: map[string]string{"Origin": "http://evil.example"}}, 200, ""},
	} {
		t.Run(tc.call.name, func(t *testing.T) {
			res := b.do(t, tc.call)
			if res.StatusCode != tc.status {
				body, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.allowRead {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.allowRead)
			}
		})
	}
	if b.stage.Get() != 1 || b.pokes.Load() != 2 {
		t.Errorf("stage %d and %d pokes, want the dashboard's stage 1 and 2 pokes", b.stage.Get(), b.pokes.Load())
	}
}

// A request addressed to a name that is not the service's (DNS
// rebinding: the attacker's host name now points at 127.0.0.1) is
// refused with 421 and a JSON error, and changes nothing; the loopback
// names with the service's port and the configured extra hosts pass.
func TestRequestsToAnotherHostAreRefused(t *testing.T) {
	b := startBrowserTarget(t)
	for _, host := range []string{"evil.example:" + b.port, "evil.example", "localhost:1", "127.0.0.2:" + b.port, "alpha:3992", ""} {
		t.Run("host "+host, func(t *testing.T) {
			var res *http.Response
			if host == "" {
				// A client fills in the address it dials: send none at all.
				res = rawRequest(t, b.url, "POST /api/poke HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
			} else {
				res = b.do(t, browserCall{method: "POST", path: "/api/poke", host: host})
			}
			wantJSONError(t, res, http.StatusMisdirectedRequest)
		})
	}
	for _, host := range []string{"localhost:" + b.port, "127.0.0.1:" + b.port, "LOCALHOST:" + b.port, "alpha:3991", "svc:8080", "svc"} {
		res := b.do(t, browserCall{method: "GET", path: "/api/stage", host: host})
		if res.StatusCode != http.StatusOK {
			t.Errorf("host %s: status %d, want 200", host, res.StatusCode)
		}
	}
	if n := b.pokes.Load(); n != 0 {
		t.Errorf("poke ran %d times for refused hosts", n)
	}
}

// wantJSONError checks a refusal: the status and a JSON error with the
// request ID.
func wantJSONError(t *testing.T, res *http.Response, status int) {
	t.Helper()
	var body ErrorBody
	data, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(data, &body); err != nil || res.StatusCode != status || body.Error == "" || body.RequestID == "" {
		t.Fatalf("status %d %s, want %d with a JSON error and request ID", res.StatusCode, data, status)
	}
}

func TestDashboardOriginsOfOverlordsAddress(t *testing.T) {
	loopback := []string{"http://127.0.0.1:3994", "http://localhost:3994", "http://[::1]:3994"}
	for addr, want := range map[string][]string{
		"127.0.0.1:3994":        loopback,
		"0.0.0.0:3994":          loopback,
		":3994":                 loopback,
		"localhost:3994":        {"http://localhost:3994", "http://127.0.0.1:3994", "http://[::1]:3994"},
		"Dashboard.Example:443": {"http://dashboard.example:443"},
		"10.1.2.3:3994":         {"http://10.1.2.3:3994"},
	} {
		got, err := DashboardOrigins(addr)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("DashboardOrigins(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := DashboardOrigins("3994"); err == nil {
		t.Error("an address without a port was taken")
	}
}

func TestParseOrigin(t *testing.T) {
	for text, want := range map[string]string{
		"http://127.0.0.1:3994":      "http://127.0.0.1:3994",
		" HTTPS://Talk.Example/ ":    "https://talk.example",
		"http://localhost:3994":      "http://localhost:3994",
		"http://[::1]:3994":          "http://[::1]:3994",
		"null":                       "",
		"*":                          "",
		"file:///tmp/x.html":         "",
		"127.0.0.1:3994":             "",
		"http://h:1/eventually.html": "",
		"http://h:1?x=1":             "",
		"http://user@h:1":            "",
		"":                           "",
	} {
		got, err := ParseOrigin(text)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
}
