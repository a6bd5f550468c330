// Package console holds the commands an operator runs from a terminal
// against a running system, through the services' own HTTP APIs.
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"eventually/pkg/requestid"
	"eventually/pkg/server"
)

// Settings changes alpha's settings through alpha's HTTP API (at
// alphaURL), as its settings page does, and returns the request ID:
// `eventually settings [--fee-enabled=B] [--discount-enabled=B] [--fee-cents N] [--discount-cents N] [--request-id ID]`.
//
// Issue 5: a console action is an edge of its own, like a controller: it
// makes up a request ID (or takes --request-id), sends it as
// X-Request-ID and prints it, so `make logs ID=` and overlord's request
// view (at overlordURL) follow what it caused across every service.
func Settings(ctx context.Context, alphaURL, overlordURL string, args []string, stdout io.Writer) (string, error) {
	flags := flag.NewFlagSet("settings", flag.ContinueOnError)
	flags.SetOutput(stdout)
	change := map[string]any{}
	for _, name := range []string{"fee_enabled", "discount_enabled"} {
		flags.BoolFunc(flagName(name), "turn it on or off (=false)", func(v string) error {
			on, err := strconv.ParseBool(v)
			change[name] = on
			return err
		})
	}
	for _, name := range []string{"fee_cents", "discount_cents"} {
		flags.Func(flagName(name), "the amount in cents", func(v string) error {
			cents, err := strconv.ParseInt(v, 10, 64)
			change[name] = cents
			return err
		})
	}
	id := flags.String("request-id", "", "the request ID to send (default: a new one)")
	if err := flags.Parse(args); err != nil {
		return "", fmt.Errorf("settings: %w", err)
	}
	if len(change) == 0 || flags.NArg() > 0 {
		return "", errors.New("settings: give at least one of --fee-enabled, --discount-enabled, --fee-cents, --discount-cents")
	}
	if *id == "" {
		*id = "cli-" + requestid.New()
	} else if !requestid.Valid(*id) {
		return "", fmt.Errorf("settings: --request-id %q is not a request ID (letters, digits and ._:@/+=- only, at most %d)", *id, requestid.MaxLen)
	}
	fmt.Fprintf(stdout, "request %s\n", *id)
	settings, err := putSettings(ctx, alphaURL, *id, change)
	if err != nil {
		return *id, fmt.Errorf("settings (request %s): %w", *id, err)
	}
	fmt.Fprintf(stdout, "settings version %d: fee %s (%s), discount %s (%s)\n", settings.Version,
		onOff(settings.FeeEnabled), server.Cents(settings.FeeCents), onOff(settings.DiscountEnabled), server.Cents(settings.DiscountCents))
	fmt.Fprintf(stdout, "follow it: make logs ID=%s, or %s/requests/%s\n", *id, overlordURL, *id)
	return *id, nil
}

// flagName is a settings field as a command-line flag: fee_enabled, fee-enabled.
func flagName(field string) string {
	b := []byte(field)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// alphaSettings is the part of alpha's answer the command prints.
type alphaSettings struct {
	Version         int64 `json:"version"`
	FeeEnabled      bool  `json:"fee_enabled"`
	FeeCents        int64 `json:"fee_cents"`
	DiscountEnabled bool  `json:"discount_enabled"`
	DiscountCents   int64 `json:"discount_cents"`
}

// putSettings sends the change to alpha under the request ID.
func putSettings(ctx context.Context, alphaURL, requestID string, change map[string]any) (alphaSettings, error) {
	var out alphaSettings
	body, err := json.Marshal(change)
	if err != nil {
		return out, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, alphaURL+"/api/settings", bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", requestID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, fmt.Errorf("call alpha (is it running? make boot): %w", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return out, fmt.Errorf("read alpha's answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var e server.ErrorBody
		_ = json.Unmarshal(answer, &e)
		return out, fmt.Errorf("alpha answered %s: %s", res.Status, e.Error)
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		return out, fmt.Errorf("alpha's answer: %w", err)
	}
	return out, nil
}
