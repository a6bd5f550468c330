package main

import (
	"context"
	"io"

	"eventually/internal/console"
)

// settingsCommand is `eventually settings ...`: it changes alpha's
// settings from a console under a request ID of its own (see
// console.Settings), against the addresses of the configuration.
func settingsCommand(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	_, err := console.Settings(ctx, "http://"+cfg.Addrs["alpha"], "http://"+cfg.Addrs["overlord"], args, stdout)
	return err
}
