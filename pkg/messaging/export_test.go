package messaging

import (
	"context"

	"eventually/pkg/logging"
	"eventually/pkg/stream"
)

// TestRelay is the outbox relay for the tests of a Store outside this
// package (the Postgres store's claim), publishing with a function of the
// test's instead of a broker.
type TestRelay struct{ r *relay }

// NewTestRelay is the relay of store, publishing with publish.
func NewTestRelay(store Store, publish func(context.Context, []stream.Message) []error) TestRelay {
	r := newRelay("test", store, logging.Discard())
	r.publish = publish
	return TestRelay{r: r}
}

// Run relays until ctx is done.
func (t TestRelay) Run(ctx context.Context) { t.r.Run(ctx) }

// Wake tells the relay there is something to publish.
func (t TestRelay) Wake() { t.r.Wake() }
