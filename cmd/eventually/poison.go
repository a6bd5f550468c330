package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"eventually/pkg/messaging"
)

// poisonCommand is `eventually poison replay [--id ID]...`: it sends
// poisoned messages through again, once their cause is fixed, to the
// broker of EVENTUALLY_NATS_URL or else the embedded broker's address.
func poisonCommand(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		return errors.New("usage: eventually poison replay [--id ID]...")
	}
	flags := flag.NewFlagSet("poison replay", flag.ContinueOnError)
	flags.SetOutput(stdout)
	var ids repeated
	flags.Var(&ids, "id", "a poison message's UUID or its original message's UUID (repeatable; none: all)")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	brokerURL := cfg.NATSURL
	if brokerURL == "" {
		brokerURL = "nats://" + cfg.NATSAddr
	}
	n, err := messaging.ReplayPoison(ctx, brokerURL, ids...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d poisoned message(s) through again\n", n)
	return nil
}

// repeated is a string flag that may be given more than once.
type repeated []string

func (l *repeated) String() string { return strings.Join(*l, " ") }

func (l *repeated) Set(v string) error {
	*l = append(*l, v)
	return nil
}
