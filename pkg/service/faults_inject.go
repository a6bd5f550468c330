//go:build faultinject

package service

import (
	"context"
	"log/slog"
	"os"
	"syscall"

	"eventually/pkg/messaging"
)

// withFaults, in a binary built with the faultinject tag (the fault tests
// build one), makes the service kill itself when
// EVENTUALLY_CRASH_BEFORE_PUBLISH=1 and its outbox relay has read
// committed messages it has not published yet: a crash between commit and
// publish, the moment the outbox exists for.
func withFaults(store messaging.Store, logger *slog.Logger) messaging.Store {
	if os.Getenv("EVENTUALLY_CRASH_BEFORE_PUBLISH") != "1" {
		return store
	}
	return crashBeforePublish{Store: store, logger: logger}
}

type crashBeforePublish struct {
	messaging.Store
	logger *slog.Logger
}

func (c crashBeforePublish) Unpublished(ctx context.Context, limit int) ([]messaging.OutboxMessage, error) {
	batch, err := c.Store.Unpublished(ctx, limit)
	if len(batch) > 0 {
		c.logger.Warn("crashing before publish (EVENTUALLY_CRASH_BEFORE_PUBLISH)")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return batch, err
}

// OneInstance passes on the wrapped store's answer: the crash must not
// also take the SQLite store's lease away. (A claiming store is never
// wrapped with a claim: the crash is read from Unpublished, which the
// claim does not use, so the fault tests run it on SQLite.)
func (c crashBeforePublish) OneInstance() bool {
	one, ok := c.Store.(messaging.OneInstance)
	return ok && one.OneInstance()
}
