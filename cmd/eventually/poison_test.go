package main

import (
	"context"
	"strings"
	"testing"

	"eventually/pkg/broker"
)

// The replay command reaches the configured broker and says what it sent;
// a command line without "replay" is refused with the usage.
func TestPoisonReplayCommand(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	getenv := func(k string) string {
		if k == EnvNATSURL {
			return b.URL()
		}
		return ""
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"poison", "replay"}, getenv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "sent 0 poisoned message(s)") {
		t.Fatalf("output %q", out.String())
	}
	if err := run(context.Background(), []string{"poison"}, getenv, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("poison without replay: %v, want the usage", err)
	}
}
