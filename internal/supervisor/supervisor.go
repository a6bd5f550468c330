// Package supervisor lets the dashboard stop a service and start it again
// for real (issue 6: a service is down), through whatever runs the
// services: boot's child processes, or a test's in-process services.
//
// The one who runs the services serves Handler on a loopback address
// under a secret path, and tells overlord that URL; overlord passes the
// dashboard's calls on (Proxy) behind its own origin checks. So no page
// but the dashboard can stop a service, and only boot knows the secret.
package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"eventually/pkg/stage"
)

// Process is one service that can be stopped and started again.
type Process interface {
	// Running tells whether the service runs now.
	Running() bool
	// Stop stops the service and returns once it has stopped; a service
	// stopped on purpose is not the end of the run.
	Stop(ctx context.Context) error
	// Start starts the service again at the stage given (the one the
	// other services run at now, which the dashboard knows); it returns
	// once it was started, not necessarily ready.
	Start(ctx context.Context, stage int) error
}

// Status is what the dashboard is told of a process.
type Status struct {
	Name    string `json:"name"`
	Running bool   `json:"running"`
}

// Supervisor serves the stop and start calls for a set of processes.
type Supervisor struct {
	names []string // in the order they are listed
	procs map[string]Process
}

// New supervises procs, listed in the order of names.
func New(names []string, procs map[string]Process) (*Supervisor, error) {
	for _, name := range names {
		if procs[name] == nil {
			return nil, fmt.Errorf("supervisor: no process for %q", name)
		}
	}
	return &Supervisor{names: slices.Clone(names), procs: procs}, nil
}

// stopLimit bounds a stop or a start asked for over HTTP.
const stopLimit = 10 * time.Second

// Handler serves, under prefix (the secret path, "/<secret>"):
//
//	GET  <prefix>/processes               every process and whether it runs
//	POST <prefix>/processes/{name}/stop   stop it and wait until it has stopped
//	POST <prefix>/processes/{name}/start  start it again; body {"stage": N}
//
// net/http rather than echo: three routes, and boot serves nothing else.
func (s *Supervisor) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/processes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.statuses())
	})
	mux.HandleFunc("POST "+prefix+"/processes/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		name, action := r.PathValue("name"), r.PathValue("action")
		p := s.procs[name]
		if p == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no service %q can be stopped or started here", name)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), stopLimit)
		defer cancel()
		var err error
		switch action {
		case "stop":
			err = p.Stop(ctx)
		case "start":
			var body struct {
				Stage *int `json:"stage"`
			}
			if json.NewDecoder(io.LimitReader(r.Body, 1024)).Decode(&body) != nil || body.Stage == nil ||
				*body.Stage < 0 || *body.Stage > stage.Max {
				writeJSON(w, http.StatusBadRequest, map[string]string{
					"error": fmt.Sprintf(`start %s: want {"stage": N}, N from 0 to %d: the stage the others run at`, name, stage.Max)})
				return
			}
			err = p.Start(ctx, *body.Stage)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no action %q: stop or start", action)})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("%s %s: %v", action, name, err)})
			return
		}
		writeJSON(w, http.StatusOK, Status{Name: name, Running: p.Running()})
	})
	return mux
}

func (s *Supervisor) statuses() []Status {
	out := make([]Status, 0, len(s.names))
	for _, name := range s.names {
		out = append(out, Status{Name: name, Running: s.procs[name].Running()})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Secret is a fresh secret path ("/<32 hex digits>") for Handler.
func Secret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("supervisor secret: %w", err)
	}
	return "/" + hex.EncodeToString(b), nil
}

// Proxy passes requests for /api/processes... on to the supervisor at
// supervisorURL (its address and secret path).
func Proxy(supervisorURL string) (http.Handler, error) {
	u, err := url.Parse(supervisorURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("supervisor URL %q: want http://host:port/<secret>", supervisorURL)
	}
	secret := strings.TrimSuffix(u.Path, "/")
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host})
			r.Out.URL.Path = secret + strings.TrimPrefix(r.In.URL.Path, "/api")
			r.Out.URL.RawPath = ""
			r.Out.Host = u.Host
			// The supervisor trusts whoever knows the secret: of the
			// browser's request only the method, path and body go on.
			r.Out.Header = http.Header{"Content-Type": {"application/json"}}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the process that runs the services does not answer: " + err.Error()})
		},
	}, nil
}
