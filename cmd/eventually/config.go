package main

import (
	"fmt"

	"eventually/internal/system"
	"eventually/pkg/stage"
)

// Defaults of the design brief; the services' addresses are in the table
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
	EnvLogDir      = "EVENTUALLY_LOG_DIR"
	EnvNATSURL     = "EVENTUALLY_NATS_URL"
	EnvNATSAddr    = "EVENTUALLY_NATS_ADDR"
	EnvAutoApprove = "EVENTUALLY_AUTO_APPROVE"
)

// envVar is one variable the binary reads, with what the usage text says of it.
type envVar struct{ name, help string }

// envVars are every variable the binary reads, in the order the usage
// text lists them.
func envVars() []envVar {
	vars := []envVar{
		{EnvStage, fmt.Sprintf("0..%d, problems 1..N solved (default %d)", stage.Max, stage.Max)},
		{EnvDataDir, "databases and broker storage (default " + DefaultDataDir + ")"},
		{EnvLogDir, "JSON logs, one file per service (default " + DefaultLogDir + ")"},
		{EnvNATSURL, "external broker; empty starts the embedded one"},
		{EnvNATSAddr, "embedded broker address (default " + DefaultNATSAddr + ")"},
	}
	for _, s := range system.Table() {
		vars = append(vars, envVar{s.AddrEnv(), s.Name + "'s HTTP address (default " + s.DefaultAddr + ")"})
	}
	return append(vars, envVar{EnvAutoApprove, "1: alpha approves captured orders at once"})
}

// config is the whole configuration, read once from the environment.
type config struct {
	Stage       int
	DataDir     string
	LogDir      string
	NATSURL     string
	NATSAddr    string
	Addrs       map[string]string // service name -> HTTP address
	AutoApprove bool
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
	return config{
		Stage:       st,
		DataDir:     or(EnvDataDir, DefaultDataDir),
		LogDir:      or(EnvLogDir, DefaultLogDir),
		NATSURL:     getenv(EnvNATSURL),
		NATSAddr:    or(EnvNATSAddr, DefaultNATSAddr),
		Addrs:       addrs,
		AutoApprove: auto == "1" || auto == "true",
	}, nil
}
