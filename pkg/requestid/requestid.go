// Package requestid carries the request ID of one customer action through
// a context: from the HTTP edge, into the correlation_id of every message
// it causes, and into the request_id of every log line written for it.
package requestid

import (
	"context"
	"regexp"

	"github.com/google/uuid"
)

type ctxKey struct{}

// MaxLen bounds an accepted request ID; longer ones are replaced.
const MaxLen = 128

// Issue 5: only a sane token is taken from a caller; anything else (too
// long, spaces, control characters, newlines) is replaced, so an ID cannot
// inject log lines or headers.
var sane = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$`)

// Valid says whether id may be used as a request ID as it is.
func Valid(id string) bool {
	return len(id) > 0 && len(id) <= MaxLen && sane.MatchString(id)
}

// New generates a request ID. It is a UUID, so it is unique across services
// and processes without coordination.
func New() string { return uuid.NewString() }

// OrNew returns id when it is valid, else a generated one.
func OrNew(id string) string {
	if Valid(id) {
		return id
	}
	return New()
}

// With returns a context carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request ID in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Ensure returns ctx with a request ID, generating one when it has none:
// work that starts without an HTTP request (a CLI command, a timer, a load
// run) gets its own ID the same way.
func Ensure(ctx context.Context) (context.Context, string) {
	if id := From(ctx); id != "" {
		return ctx, id
	}
	id := New()
	return With(ctx, id), id
}
