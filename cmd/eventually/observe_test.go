package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"eventually/internal/poll"
)

// Under boot each service gets its own profile port: the table's order
// from the given one.
func TestChildPprofAddr(t *testing.T) {
	for name, want := range map[string]string{"alpha": "127.0.0.1:6060", "beta": "127.0.0.1:6061", "overlord": "127.0.0.1:6063"} {
		if got, err := childPprofAddr("127.0.0.1:6060", name); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if got, err := childPprofAddr("", "alpha"); err != nil || got != "" {
		t.Errorf("off: %q, %v; want off", got, err)
	}
	for _, bad := range []string{"127.0.0.1:0", "6060", "127.0.0.1:http"} {
		if _, err := childPprofAddr(bad, "alpha"); err == nil || !strings.Contains(err.Error(), EnvPprofAddr) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, EnvPprofAddr)
		}
	}
}

// The profiles are served on the opt-in address, and the server stops
// with the context.
func TestPprofServesProfiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := freeAddr(t)
	serve, err := servePprof(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve() }()
	var body string
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool {
		res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		body = string(data)
		return res.StatusCode == 200
	}) {
		t.Fatal("no profile served")
	}
	if !strings.Contains(body, "goroutine profile") {
		t.Fatalf("not a goroutine profile: %.200s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pprof server did not stop")
	}
}
