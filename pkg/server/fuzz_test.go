package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"eventually/pkg/logging"
	"eventually/pkg/stage"
)

// FuzzStageBody sends arbitrary bodies to PUT /api/stage through the whole
// middleware stack: never a panic or a 5xx; every refusal is a JSON error
// with a request ID, and a refused body leaves the stage as it was.
func FuzzStageBody(f *testing.F) {
	for _, s := range []string{`{"stage":3}`, `{"stage":9}`, `{"stage":-1}`, `{"stage":"2"}`, `{}`, `null`, `{`, ``, `{"stage":1,"x":2}`} {
		f.Add([]byte(s))
	}
	st, _ := stage.New(5)
	e := New(Config{Service: "test", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{Hosts: []string{"example.com"}}}) // httptest's host
	f.Fuzz(func(t *testing.T, body []byte) {
		before := st.Get()
		req := httptest.NewRequest(http.MethodPut, "/api/stage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			return
		case rec.Code >= 500:
			t.Fatalf("%q: status %d", body, rec.Code)
		}
		var answer ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Error == "" || answer.RequestID == "" {
			t.Fatalf("%q: status %d without a clear JSON error: %s", body, rec.Code, rec.Body)
		}
		if st.Get() != before {
			t.Fatalf("%q was refused but changed the stage", body)
		}
	})
}

// FuzzBrowserGuard sends a stage change with arbitrary Host and Origin
// headers to a service listening on 127.0.0.1:3991: it is made only when
// addressed to one of the service's names and sent by no page, the
// service's own page or the dashboard; every other request is a JSON
// refusal that leaves the stage as it was.
func FuzzBrowserGuard(f *testing.F) {
	for _, seed := range [][2]string{
		{"127.0.0.1:3991", ""}, {"localhost:3991", dashboard}, {"alpha:3991", "http://alpha:3991"},
		{"evil.example:3991", "http://evil.example:3991"}, {"127.0.0.1:3991", "null"}, {"LOCALHOST:3991", "HTTP://127.0.0.1:3994"},
		{"[::1]:3991", "http://[::1]:3991"}, {"127.0.0.1:3991", "http://127.0.0.1:3991/"}, {"", ""}, {"alpha", "*"},
	} {
		f.Add(seed[0], seed[1])
	}
	st, _ := stage.New(5)
	e := New(Config{Service: "test", Logger: logging.Discard(), Stage: st, Live: NewLive(),
		Browser: Browser{DashboardOrigins: []string{dashboard}, Hosts: []string{"alpha:3991"}}})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3991}
	own := []string{"127.0.0.1:3991", "localhost:3991", "[::1]:3991", "alpha:3991"}
	f.Fuzz(func(t *testing.T, host, origin string) {
		if err := st.Set(5); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPut, "/api/stage", strings.NewReader(`{"stage":2}`))
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, net.Addr(local)))
		req.Header.Set("Content-Type", "application/json")
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fromOwnPage := strings.EqualFold(origin, "http://"+host) || strings.EqualFold(origin, "https://"+host)
			if !slices.Contains(own, strings.ToLower(host)) || !(origin == "" || strings.EqualFold(origin, dashboard) || fromOwnPage) {
				t.Fatalf("host %q origin %q changed the stage", host, origin)
			}
			return
		}
		var answer ErrorBody
		if rec.Code >= 500 || json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Error == "" || answer.RequestID == "" {
			t.Fatalf("host %q origin %q: status %d without a clear JSON error: %s", host, origin, rec.Code, rec.Body)
		}
		if st.Get() != 5 {
			t.Fatalf("host %q origin %q was refused but changed the stage", host, origin)
		}
	})
}
