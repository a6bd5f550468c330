package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"eventually/internal/system"
	"eventually/pkg/postgres"
	"eventually/pkg/server"
	"eventually/pkg/stage"
	"eventually/pkg/stream"
)

// The defaults; the services' addresses are in the table
// of services (internal/system). docker-compose.yml is checked against
// these by a test.
const (
	DefaultDataDir  = "data"
	DefaultLogDir   = "logs"
	DefaultNATSAddr = "127.0.0.1:4222"
)

// Env names of the configuration; each service's address is read from
// its own EVENTUALLY_<NAME>_ADDR (system.Spec.AddrEnv).
const (
	EnvStage       = "EVENTUALLY_STAGE"
	EnvDataDir     = "EVENTUALLY_DATA_DIR"
	EnvDatabaseURL = "EVENTUALLY_DATABASE_URL"
	EnvLogDir      = "EVENTUALLY_LOG_DIR"
	EnvNATSURL     = "EVENTUALLY_NATS_URL"
	EnvNATSAddr    = "EVENTUALLY_NATS_ADDR"
	EnvAutoApprove = "EVENTUALLY_AUTO_APPROVE"
	// Browser safety (server.Browser): comma-separated lists.
	EnvDashboardOrigins = "EVENTUALLY_DASHBOARD_ORIGINS"
	EnvAllowedHosts     = "EVENTUALLY_ALLOWED_HOSTS"
	EnvInstance         = "EVENTUALLY_INSTANCE"
	EnvStreamReplicas   = "EVENTUALLY_STREAM_REPLICAS"
	EnvStreamMaxAge     = "EVENTUALLY_STREAM_MAX_AGE"
	EnvStreamMaxBytes   = "EVENTUALLY_STREAM_MAX_BYTES"
	EnvNATSMonitorAddr  = "EVENTUALLY_NATS_MONITOR_ADDR"
	EnvPprofAddr        = "EVENTUALLY_PPROF_ADDR"
	// The OpenTelemetry standard one; the exporter reads the rest of OTEL_*.
	EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// EnvSupervisor is set by boot for overlord: where the dashboard's
	// stop and start of a service go (internal/supervisor).
	EnvSupervisor = "EVENTUALLY_SUPERVISOR_URL"
)

// envVar is one variable the binary reads, with what the usage text says of it.
type envVar struct{ name, help string }

// envVars are every variable the binary reads, in the order the usage
// text lists them.
func envVars() []envVar {
	vars := []envVar{
		{EnvStage, fmt.Sprintf("0..%d, problems 1..N solved (default %d)", stage.Max, stage.Max)},
		{EnvDataDir, "databases and broker storage (default " + DefaultDataDir + ")"},
		{EnvDatabaseURL, "postgres://...: alpha, beta and charlie each in its own schema there, any number of instances; overlord stays on its SQLite file (default empty: SQLite files in the data dir)"},
		{EnvLogDir, "JSON logs, one file per service (default " + DefaultLogDir + ")"},
		{EnvNATSURL, "external broker; empty starts the embedded one"},
		{EnvNATSAddr, "embedded broker address (default " + DefaultNATSAddr + ")"},
	}
	for _, s := range system.Table() {
		vars = append(vars, envVar{s.AddrEnv(), s.Name + "'s HTTP address (default " + s.DefaultAddr + ")"})
	}
	return append(vars,
		envVar{EnvAutoApprove, "1: alpha approves captured orders at once"},
		envVar{EnvDashboardOrigins, "origins whose pages may change state, comma-separated (default overlord's: http://<overlord addr>)"},
		envVar{EnvAllowedHosts, "host[:port] names the services answer to besides their address and localhost, comma-separated"},
		envVar{EnvInstance, "this process's name among a service's instances, on its log lines, /readyz and messages (default host-pid)"},
		envVar{EnvStreamReplicas, "servers of a cluster that keep the stream (default 1; applied at create, updated at start)"},
		envVar{EnvStreamMaxAge, "the stream drops messages older than this, e.g. 720h (default 30 days)"},
		envVar{EnvStreamMaxBytes, "the stream drops its oldest messages beyond this many bytes (default 1073741824)"},
		envVar{EnvNATSMonitorAddr, "the embedded broker's monitoring port, e.g. 127.0.0.1:8222 (default off)"},
		envVar{EnvPprofAddr, "Go profiles at /debug/pprof/, e.g. 127.0.0.1:6060; under boot each service at the next port (default off)"},
		envVar{EnvOTLPEndpoint, "export traces by OTLP/HTTP, e.g. http://127.0.0.1:4318 (default off)"},
		envVar{EnvSupervisor, "set by boot for overlord: where the dashboard stops and starts services (tab 6)"},
	)
}

// config is the whole configuration, read once from the environment.
type config struct {
	Stage   int
	DataDir string
	// DatabaseURL, when set, is the Postgres server of alpha, beta and charlie.
	DatabaseURL string
	LogDir      string
	NATSURL     string
	NATSAddr    string
	Addrs       map[string]string // service name -> HTTP address
	AutoApprove bool
	// DashboardOrigins may change the services' state from their pages:
	// the dashboard's origins, overlord's address unless configured.
	DashboardOrigins []string
	// AllowedHosts are the extra names the services answer to, as
	// docker compose's service names.
	AllowedHosts []string
	// Instance names this process among a service's instances.
	Instance string
	// Stream is the stream's replicas and limits.
	Stream stream.Limits
	// NATSMonitorAddr opens the embedded broker's monitoring port.
	NATSMonitorAddr string
	// PprofAddr serves Go's profiles; empty: off.
	PprofAddr string
	// Supervisor is boot's supervisor, for overlord (EnvSupervisor).
	Supervisor string
}

// browser is what the configuration lets web pages do (server.Browser).
func (c config) browser() server.Browser {
	return server.Browser{DashboardOrigins: c.DashboardOrigins, Hosts: c.AllowedHosts}
}

func loadConfig(getenv func(string) string) (config, error) {
	or := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	st, err := stage.Parse(getenv(EnvStage))
	if err != nil {
		return config{}, fmt.Errorf("%s: %w", EnvStage, err)
	}
	auto := getenv(EnvAutoApprove)
	switch auto {
	case "", "0", "1", "true", "false":
	default:
		return config{}, fmt.Errorf("%s=%q: want 1 or 0", EnvAutoApprove, auto)
	}
	addrs := map[string]string{}
	for _, s := range system.Table() {
		addrs[s.Name] = or(s.AddrEnv(), s.DefaultAddr)
	}
	origins, err := dashboardOrigins(getenv(EnvDashboardOrigins), addrs["overlord"])
	if err != nil {
		return config{}, err
	}
	hosts, err := allowedHosts(getenv(EnvAllowedHosts))
	if err != nil {
		return config{}, err
	}
	limits, err := streamLimits(getenv)
	if err != nil {
		return config{}, err
	}
	if v := getenv(EnvDatabaseURL); v != "" {
		if _, err := postgres.ParseURL(v); err != nil {
			return config{}, fmt.Errorf("%s: %w", EnvDatabaseURL, err)
		}
	}
	return config{
		Stage:            st,
		DataDir:          or(EnvDataDir, DefaultDataDir),
		DatabaseURL:      getenv(EnvDatabaseURL),
		LogDir:           or(EnvLogDir, DefaultLogDir),
		NATSURL:          getenv(EnvNATSURL),
		NATSAddr:         or(EnvNATSAddr, DefaultNATSAddr),
		Addrs:            addrs,
		AutoApprove:      auto == "1" || auto == "true",
		DashboardOrigins: origins,
		AllowedHosts:     hosts,
		Instance:         or(EnvInstance, defaultInstance()),
		Stream:           limits,
		NATSMonitorAddr:  getenv(EnvNATSMonitorAddr),
		PprofAddr:        getenv(EnvPprofAddr),
		Supervisor:       getenv(EnvSupervisor),
	}, nil
}

// streamLimits reads the stream's replicas and limits; empty ones are the
// defaults (stream.Limits).
func streamLimits(getenv func(string) string) (stream.Limits, error) {
	var l stream.Limits
	if v := getenv(EnvStreamReplicas); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return l, fmt.Errorf("%s=%q: want 1 to 5 (a cluster keeps at most 5 copies)", EnvStreamReplicas, v)
		}
		l.Replicas = n
	}
	if v := getenv(EnvStreamMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return l, fmt.Errorf("%s=%q: want a positive duration such as 720h", EnvStreamMaxAge, v)
		}
		l.MaxAge = d
	}
	if v := getenv(EnvStreamMaxBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<20 {
			return l, fmt.Errorf("%s=%q: want a number of bytes, at least 1048576", EnvStreamMaxBytes, v)
		}
		l.MaxBytes = n
	}
	return l, nil
}

// defaultInstance is host-pid: unique among the processes of a machine,
// and telling which machine on a shared broker.
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// dashboardOrigins reads EVENTUALLY_DASHBOARD_ORIGINS; empty, they are
// those of the dashboard overlord serves at overlordAddr.
func dashboardOrigins(list, overlordAddr string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		origins, err := server.DashboardOrigins(overlordAddr)
		if err != nil {
			return nil, fmt.Errorf("the dashboard's origins from overlord's address: %w", err)
		}
		return origins, nil
	}
	var origins []string
	for _, text := range strings.Split(list, ",") {
		origin, err := server.ParseOrigin(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDashboardOrigins, err)
		}
		origins = append(origins, origin)
	}
	return origins, nil
}

// allowedHosts reads EVENTUALLY_ALLOWED_HOSTS: host or host:port names.
func allowedHosts(list string) ([]string, error) {
	var hosts []string
	for _, text := range strings.Split(list, ",") {
		host := strings.ToLower(strings.TrimSpace(text))
		if host == "" {
			continue
		}
		_, _, err := net.SplitHostPort(host)
		if strings.ContainsAny(host, "/ @?#") || strings.Contains(host, ":") && err != nil {
			return nil, fmt.Errorf("%s: %q: want host or host:port, e.g. alpha:3991", EnvAllowedHosts, text)
		}
		hosts = append(hosts, host)
	}
	return hosts, nil
}
