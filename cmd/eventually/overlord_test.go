package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	st "eventually/internal/systemtest"
)

// `eventually overlord --rebuild` replays the stream into the store and
// says how many messages it took and how long.
func TestOverlordRebuildCommand(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha"}})
	for _, on := range []bool{true, false} {
		st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"discount_enabled": on}), 200)
	}
	st.Eventually(t, 15*time.Second, "two settings.changed in the stream", func() bool { return s.StreamCount("settings.changed") == 2 })
	env := map[string]string{EnvNATSURL: s.BrokerURL(), EnvDataDir: t.TempDir()}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"overlord", "--rebuild"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`rebuilt 2 messages in \S+ \(\d+ messages/s\)`).Match(out.Bytes()) {
		t.Fatalf("output:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"overlord", "--rebuild", "extra"}, func(k string) string { return env[k] }, &out); err == nil {
		t.Fatal("extra arguments accepted")
	}
}
