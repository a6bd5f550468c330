package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	st "eventually/internal/systemtest"
)

// The settings command is an edge of its own: its request ID (made up, or
// given) reaches every service's log lines and the message it caused, and
// overlord's request view, as a click's does.
func TestSettingsCommandRequestIDReachesEveryService(t *testing.T) {
	sys := st.Start(t, st.Options{Stage: 6})
	env := map[string]string{EnvLogDir: sys.LogDir}
	for _, name := range st.AllServices {
		env["EVENTUALLY_"+strings.ToUpper(name)+"_ADDR"] = strings.TrimPrefix(sys.URL(name), "http://")
	}
	getenv := func(key string) string { return env[key] }

	for i, args := range [][]string{{"--fee-enabled=false"}, {"--fee-enabled", "--request-id", "ops-ticket-7"}} {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"settings"}, args...), getenv, &out); err != nil {
			t.Fatalf("settings %v: %v\n%s", args, err, out.String())
		}
		m := regexp.MustCompile(`(?m)^request (\S+)$`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("settings %v printed no request ID:\n%s", args, out.String())
		}
		id := m[1]
		if i == 0 && !strings.HasPrefix(id, "cli-") || i == 1 && id != "ops-ticket-7" {
			t.Fatalf("settings %v: request ID %q", args, id)
		}

		// Every service that worked on the change logs it under the ID.
		want := map[string]string{"alpha": "settings updated", "beta": "settings copy updated", "charlie": "fee setting updated"}
		var lines []logLine
		st.Eventually(t, 10*time.Second, "alpha, beta and charlie log under "+id, func() bool {
			lines, _ = requestLines(sys.LogDir, id)
			for service, msg := range want {
				if !slices.ContainsFunc(lines, func(l logLine) bool {
					return l.service == service && strings.Contains(l.raw, `"msg":"`+msg+`"`)
				}) {
					return false
				}
			}
			return true
		})
		// ...and the message it caused carries it, from the edge.
		msg := sys.LastMessage("settings.changed")
		if msg.Metadata["correlation_id"] != id || msg.Metadata["causation_id"] != "" {
			t.Fatalf("settings.changed has correlation_id %q, causation_id %q; want %s from the edge",
				msg.Metadata["correlation_id"], msg.Metadata["causation_id"], id)
		}
		st.Eventually(t, 10*time.Second, "overlord's view of "+id, func() bool {
			r := st.Call(t, "GET", sys.URL("overlord")+"/api/requests/"+id, nil)
			return r.Status == 200 && strings.Contains(string(r.Body), `"settings.changed"`)
		})
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"settings", "--fee-enabled", "--request-id", "not a sane id"}, getenv, &out); err == nil {
		t.Fatal("a request ID with spaces was taken")
	}
}
