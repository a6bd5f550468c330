package main

import (
	"fmt"

	"eventually/pkg/stage"
)

// Defaults of the design brief. docker-compose.yml is checked against
// these by a test.
const (
	DefaultDataDir      = "data"
	DefaultLogDir       = "logs"
	DefaultNATSAddr     = "127.0.0.1:4222"
	DefaultAlphaAddr    = "127.0.0.1:3991"
	DefaultBetaAddr     = "127.0.0.1:3992"
	DefaultCharlieAddr  = "127.0.0.1:3993"
	DefaultOverlordAddr = "127.0.0.1:3994"
)

// Env names of the configuration.
const (
	EnvStage        = "EVENTUALLY_STAGE"
	EnvDataDir      = "EVENTUALLY_DATA_DIR"
	EnvLogDir       = "EVENTUALLY_LOG_DIR"
	EnvNATSURL      = "EVENTUALLY_NATS_URL"
	EnvNATSAddr     = "EVENTUALLY_NATS_ADDR"
	EnvAlphaAddr    = "EVENTUALLY_ALPHA_ADDR"
	EnvBetaAddr     = "EVENTUALLY_BETA_ADDR"
	EnvCharlieAddr  = "EVENTUALLY_CHARLIE_ADDR"
	EnvOverlordAddr = "EVENTUALLY_OVERLORD_ADDR"
	EnvAutoApprove  = "EVENTUALLY_AUTO_APPROVE"
)

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
	return config{
		Stage:    st,
		DataDir:  or(EnvDataDir, DefaultDataDir),
		LogDir:   or(EnvLogDir, DefaultLogDir),
		NATSURL:  getenv(EnvNATSURL),
		NATSAddr: or(EnvNATSAddr, DefaultNATSAddr),
		Addrs: map[string]string{
			"alpha":    or(EnvAlphaAddr, DefaultAlphaAddr),
			"beta":     or(EnvBetaAddr, DefaultBetaAddr),
			"charlie":  or(EnvCharlieAddr, DefaultCharlieAddr),
			"overlord": or(EnvOverlordAddr, DefaultOverlordAddr),
		},
		AutoApprove: auto == "1" || auto == "true",
	}, nil
}
