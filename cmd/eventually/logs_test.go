package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Interleaved lines of three services, two requests, and a line without
// a request ID; the times are out of file order across files.
var testLogs = map[string]string{
	"alpha.log": `{"time":"2025-01-01T12:00:00.200Z","level":"INFO","msg":"order captured","service":"alpha","request_id":"demo-42"}
{"time":"2025-01-01T12:00:00.250Z","level":"INFO","msg":"order captured","service":"alpha","request_id":"other"}
{"time":"2025-01-01T12:00:00.400Z","level":"INFO","msg":"order finalized","service":"alpha","request_id":"demo-42"}
`,
	"beta.log": `{"time":"2025-01-01T12:00:00.100Z","level":"INFO","msg":"cart submitted","service":"beta","request_id":"demo-42","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
not json at all, demo-42
{"time":"2025-01-01T12:00:00.500Z","level":"INFO","msg":"cart reopened","service":"beta","request_id":"demo-42"}
{"time":"2025-01-01T12:00:00.600Z","level":"INFO","msg":"service started","service":"beta"}
`,
	"charlie.log": `{"time":"2025-01-01T12:00:00.300Z","level":"INFO","msg":"order charged","service":"charlie","request_id":"demo-42","note":"mentions demo-420"}
{"time":"2025-01-01T12:00:00.350Z","level":"INFO","msg":"order charged","service":"charlie","request_id":"demo-420","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
`,
}

func logDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range testLogs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runLogs(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == EnvLogDir {
			return dir
		}
		return ""
	}
	err := run(context.Background(), append([]string{"logs"}, args...), getenv, &out)
	return out.String(), err
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestLogsMergesOneRequestInTimeOrder(t *testing.T) {
	out, err := runLogs(t, logDir(t), "demo-42")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(ansi.ReplaceAllString(out, "")), "\n")
	want := []struct{ service, msg string }{
		{"beta", "cart submitted"}, {"alpha", "order captured"}, {"charlie", "order charged"},
		{"alpha", "order finalized"}, {"beta", "cart reopened"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.service) || !strings.Contains(lines[i], w.msg) || !strings.Contains(lines[i], "request_id=demo-42") {
			t.Errorf("line %d %q, want %s: %s", i, lines[i], w.service, w.msg)
		}
	}
	if !strings.Contains(out, "\x1b[32mbeta") {
		t.Errorf("beta's lines are not coloured:\n%q", out)
	}
}

// rawLines runs `logs --json id` on the test logs and returns its lines.
func rawLines(t *testing.T, id string) []string {
	t.Helper()
	out, err := runLogs(t, logDir(t), "--json", id)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(out), "\n")
}

func TestLogsJSONPrintsRawLines(t *testing.T) {
	lines := rawLines(t, "demo-42")
	if len(lines) != 5 || !strings.Contains(lines[0], `"msg":"cart submitted"`) || !strings.Contains(lines[4], `"msg":"cart reopened"`) {
		t.Fatalf("raw lines:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"time":"2025-`) {
			t.Errorf("not a raw JSON log line: %q", l)
		}
	}
}

// A trace ID selects the lines written in that trace, whatever their
// request ID.
func TestLogsOfATrace(t *testing.T) {
	lines := rawLines(t, "4bf92f3577b34da6a3ce929d0e0e4736")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"cart submitted"`) || !strings.Contains(lines[1], `"request_id":"demo-420"`) {
		t.Fatalf("lines of the trace:\n%s", strings.Join(lines, "\n"))
	}
}

func TestLogsSaysWhyNothingIsPrinted(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		args      []string
		want      string
	}{
		{"no match", logDir(t), []string{"nobody"}, `no line with request_id="nobody"`},
		{"missing dir", filepath.Join(t.TempDir(), "nope"), []string{"demo-42"}, "does not exist"},
		{"empty dir", t.TempDir(), []string{"demo-42"}, "no *.log file"},
		{"no id", logDir(t), nil, "want one request ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runLogs(t, tc.dir, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
