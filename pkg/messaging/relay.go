package messaging

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"eventually/pkg/requestid"
	"eventually/pkg/stream"
)

// relay publishes outbox messages to the broker and marks published
// exactly the ones the broker acknowledged.
//
// Why not Watermill's forwarder: it reads the outbox through watermill-sql,
// which has no SQLite adapter. This relay is the forwarder's loop over a
// Store: woken right after a commit, so no poll delay; retrying with
// backoff while the broker is down; at least once, with the broker
// dropping a republished event ID (its duplicate window) and consumers'
// inboxes dropping the rest.
//
// It never keeps a cursor on the ID: a row whose ID is lower than one
// already published may still commit (two transactions, IDs taken in one
// order and committed in the other), and a cursor would skip it for good.
// Each read asks the store for what is not marked published.
//
// Marking lags publishing by up to markDelay: one UPDATE for everything
// published meanwhile instead of one write per batch, which under load
// was a third of a service's commits. The IDs published but not marked
// yet are skipped by the next reads. A crash in between only means those
// messages are published again after the restart, as a crash between
// publish and mark always could.
type relay struct {
	store Store
	// publish sends messages to the broker and says, for each, nil if it
	// stored it or why not (stream.Writer.Write); set before Run.
	publish func(context.Context, []stream.Message) []error
	// service names the set-aside notices.
	service string
	logger  *slog.Logger
	wake    chan struct{}
	// unmarked are the IDs the broker stored that the store does not say
	// are published yet. Only the relay's goroutine uses it.
	unmarked map[uint64]bool
	tracing  tracing  // a span per publish, continuing the row's trace
	metrics  *metrics // what was relayed, set aside
}

const (
	// relayBatchSize is how many outbox messages the relay reads and
	// publishes at once.
	relayBatchSize = 256
	// markDelay is how far marking may lag behind publishing.
	markDelay = 50 * time.Millisecond
)

func newRelay(service string, store Store, logger *slog.Logger) *relay {
	return &relay{service: service, store: store, logger: logger, wake: make(chan struct{}, 1), unmarked: map[uint64]bool{}}
}

// Wake tells the relay there is something to publish. It never blocks.
func (r *relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done, then marks what it published.
func (r *relay) Run(ctx context.Context) {
	defer r.markOnExit()
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	failing := false
	// A safety net only: every commit wakes the relay.
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	mark := time.NewTicker(markDelay)
	defer mark.Stop()
	for {
		full, err := r.relayBatch(ctx)
		switch {
		case err != nil:
			if !failing {
				r.logger.Warn("outbox relay cannot publish, will retry", "error", err)
				failing = true
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		case failing:
			r.logger.Info("outbox relay publishing again")
			failing = false
		}
		backoff = minBackoff
		if full {
			r.markIfDue(ctx, mark)
			continue // more waiting
		}
		if !r.wait(ctx, poll, mark) {
			return
		}
	}
}

// wait blocks until there may be something to publish, marking what was
// published meanwhile; false means ctx is done.
func (r *relay) wait(ctx context.Context, poll, mark *time.Ticker) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-r.wake:
			return true
		case <-poll.C:
			return true
		case <-mark.C:
			r.markLogged(ctx)
		}
	}
}

// markIfDue marks when the mark ticker has ticked, without waiting for it.
func (r *relay) markIfDue(ctx context.Context, mark *time.Ticker) {
	select {
	case <-mark.C:
		r.markLogged(ctx)
	default:
	}
}

func (r *relay) markLogged(ctx context.Context) {
	if err := r.mark(ctx); err != nil && ctx.Err() == nil {
		r.logger.Warn("outbox relay cannot mark published, will retry", "error", err)
	}
}

// relayBatch publishes the oldest unpublished messages, and says whether
// there may be more waiting.
func (r *relay) relayBatch(ctx context.Context) (full bool, err error) {
	if claimer, ok := r.store.(Claimer); ok {
		return r.relayClaimed(ctx, claimer)
	}
	rows, err := r.store.Unpublished(ctx, relayBatchSize+len(r.unmarked))
	if err != nil {
		return false, err
	}
	full = len(rows) == relayBatchSize+len(r.unmarked)
	rows = slices.DeleteFunc(rows, func(m OutboxMessage) bool { return r.unmarked[m.ID] })
	if len(rows) == 0 {
		return false, nil
	}
	msgs, err := messagesOf(rows)
	if err != nil {
		return false, err
	}
	var failed error
	for i, err := range r.publishObserved(ctx, msgs) {
		switch {
		case err == nil:
			r.unmarked[rows[i].ID] = true
		case errors.Is(err, stream.ErrUnpublishable):
			if err := r.setAside(ctx, msgs[i], rows[i].ID, err); err != nil {
				failed = cmp.Or(failed, err)
			}
		default:
			failed = cmp.Or(failed, err) // sent again with the next batch
		}
	}
	return full, failed
}

// relayClaimed is relayBatch for a store whose outbox the relays of
// several instances share: the rows are locked while they are published,
// and marked published (or set aside) before the lock is let go, so no
// other relay publishes them again. No marking lags here: the mark is
// part of the claim's commit.
func (r *relay) relayClaimed(ctx context.Context, claimer Claimer) (full bool, err error) {
	var failed error
	n, err := claimer.ClaimUnpublished(ctx, relayBatchSize, func(rows []OutboxMessage) (Outcome, error) {
		msgs, err := messagesOf(rows)
		if err != nil {
			return Outcome{}, err
		}
		out := Outcome{SetAside: map[uint64]string{}}
		for i, err := range r.publishObserved(ctx, msgs) {
			switch {
			case err == nil:
				out.Published = append(out.Published, rows[i].ID)
			case errors.Is(err, stream.ErrUnpublishable):
				out.SetAside[rows[i].ID] = err.Error()
				r.announceSetAside(ctx, msgs[i], err)
			default:
				failed = cmp.Or(failed, err) // claimed again by the next batch
			}
		}
		return out, nil
	})
	if err != nil {
		return false, err
	}
	return n == relayBatchSize, failed
}

// publishObserved publishes msgs with a span each (continuing the trace
// stored with the row) and counts what the broker took.
func (r *relay) publishObserved(ctx context.Context, msgs []stream.Message) []error {
	spans := r.tracing.publishSpans(ctx, msgs)
	errs := r.publish(ctx, msgs)
	endPublishSpans(spans, errs)
	r.metrics.countRelayed(msgs, errs)
	return errs
}

// messagesOf are outbox rows as the broker takes them.
func messagesOf(rows []OutboxMessage) ([]stream.Message, error) {
	msgs := make([]stream.Message, len(rows))
	for i, row := range rows {
		msgs[i] = stream.Message{UUID: row.UUID, Topic: row.Topic, Payload: row.Payload}
		if err := json.Unmarshal([]byte(row.Metadata), &msgs[i].Metadata); err != nil {
			return nil, fmt.Errorf("outbox message %s: metadata: %w", row.UUID, err)
		}
	}
	return msgs, nil
}

// setAside keeps a message the broker will never take out of the relay's
// way and announces it: one message must not hold back every message
// behind it.
func (r *relay) setAside(ctx context.Context, msg stream.Message, id uint64, reason error) error {
	if err := r.store.SetAside(ctx, id, reason.Error()); err != nil {
		return err
	}
	r.announceSetAside(ctx, msg, reason)
	return nil
}

// announceSetAside logs a message set aside with its request ID, and puts
// a notice of it on the poison topic, where the watcher shows it.
func (r *relay) announceSetAside(ctx context.Context, msg stream.Message, reason error) {
	r.metrics.countSetAside(r.service)
	r.logger.ErrorContext(r.tracing.extract(requestid.With(ctx, msg.Metadata[CorrelationIDKey]), msg.Metadata), "outbox message set aside: the broker will never take it",
		"message_uuid", msg.UUID, "event_name", msg.Topic, "reason", reason.Error())
	notice := stream.Message{UUID: uuid.NewString(), Topic: PoisonTopic, Metadata: maps.Clone(msg.Metadata),
		Payload: msg.Payload[:min(len(msg.Payload), setAsidePayloadBytes)]}
	notice.Metadata[PoisonReasonKey] = reason.Error()
	notice.Metadata[PoisonConsumerKey] = r.service + " outbox"
	notice.Metadata[PoisonOriginalUUIDKey] = msg.UUID
	if err := r.publish(ctx, []stream.Message{notice})[0]; err != nil {
		r.logger.WarnContext(ctx, "outbox: no notice of the message set aside on the poison topic",
			"message_uuid", msg.UUID, "error", err)
	}
}

// setAsidePayloadBytes is how much of a set-aside message's payload its
// notice carries: enough to recognise it.
const setAsidePayloadBytes = 1024

// mark records in the store that what the broker stored is published.
func (r *relay) mark(ctx context.Context) error {
	if len(r.unmarked) == 0 {
		return nil
	}
	if err := r.store.MarkPublished(ctx, slices.Sorted(maps.Keys(r.unmarked))); err != nil {
		return err
	}
	clear(r.unmarked)
	return nil
}

// markOnExit marks what was published before the service stops, so a
// clean restart publishes nothing twice.
func (r *relay) markOnExit() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.mark(ctx); err != nil {
		r.logger.Warn("outbox relay: marking published on exit", "error", err)
	}
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
