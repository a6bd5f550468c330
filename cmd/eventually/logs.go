package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"eventually/pkg/logging"
)

// logLine is one JSON log line of one service.
type logLine struct {
	service string
	time    time.Time
	raw     string
}

// logsCommand prints one request's log lines from every service's log
// file, merged in time order: `eventually logs [--json] <request-id>`.
// A trace ID (32 hex digits, as a trace viewer shows it) selects the
// lines written in that trace instead.
func logsCommand(cfg config, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("logs", flag.ContinueOnError)
	flags.SetOutput(stdout)
	raw := flags.Bool("json", false, "print the raw JSON lines")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if flags.NArg() != 1 {
		return errors.New("logs: want one request ID or trace ID: eventually logs [--json] <request-id|trace-id>")
	}
	id := flags.Arg(0)
	lines, err := requestLines(cfg.LogDir, id)
	if err != nil {
		return err
	}
	out := newPrefixer(stdout)
	for _, l := range lines {
		if *raw {
			fmt.Fprintln(stdout, l.raw)
		} else {
			out.line(l.service, pretty(l.raw))
		}
	}
	return nil
}

// requestLines reads <dir>/*.log and returns the lines whose request_id
// or trace_id is id, in time order (a service's own order where times are equal).
func requestLines(dir, id string) ([]logLine, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logs: log dir %s does not exist (start the system with `make boot`, or set %s)", dir, EnvLogDir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("logs: no *.log file in %s", dir)
	}
	var lines []logLine
	for _, f := range files {
		found, err := scanLog(f, id)
		if err != nil {
			return nil, err
		}
		lines = append(lines, found...)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("logs: no line with %s=%q or %s=%q in %s/*.log", logging.RequestIDKey, id, logging.TraceIDKey, id, dir)
	}
	slices.SortStableFunc(lines, func(a, b logLine) int {
		return cmp.Or(a.time.Compare(b.time), cmp.Compare(a.service, b.service))
	})
	return lines, nil
}

// scanLog returns the lines of one log file that carry request ID or
// trace ID id.
func scanLog(path, id string) ([]logLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	service := strings.TrimSuffix(filepath.Base(path), ".log")
	quoted, _ := json.Marshal(id)
	var lines []logLine
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		text := scanner.Bytes()
		if !bytes.Contains(text, quoted) {
			continue // most lines: skip without decoding
		}
		var rec struct {
			Time      time.Time `json:"time"`
			Service   string    `json:"service"`
			RequestID string    `json:"request_id"`
			TraceID   string    `json:"trace_id"`
		}
		if json.Unmarshal(text, &rec) != nil || rec.RequestID != id && rec.TraceID != id {
			continue
		}
		lines = append(lines, logLine{service: cmp.Or(rec.Service, service), time: rec.Time, raw: string(text)})
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("logs: read %s: %w", path, err)
	}
	return lines, nil
}
