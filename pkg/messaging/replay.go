package messaging

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"eventually/pkg/stream"
)

// ReplayPoison sends poisoned messages through again, once the cause that
// made them fail is fixed: each goes back to the topic it failed on, as it
// was, under its original UUID, so every consumer that had processed it
// drops it (its inbox) and the one that failed handles it. ids picks
// poison messages by their UUID or their original message's UUID; none
// picks them all. A replay of the same poison message is sent once (the
// broker drops a second within its duplicate window, the consumer's inbox
// after it). It returns how many were sent again.
//
// A notice of a message the outbox set aside is not replayed: the broker
// refused that message itself.
func ReplayPoison(ctx context.Context, brokerURL string, ids ...string) (int, error) {
	poisoned, err := stream.Read(ctx, brokerURL, PoisonTopic)
	if err != nil {
		return 0, fmt.Errorf("read the poison topic: %w", err)
	}
	var again []stream.Message
	for _, p := range poisoned {
		original, topic := p.Metadata[PoisonOriginalUUIDKey], p.Metadata[poisonedTopicKey]
		if topic == "" || original == "" {
			continue // not a message a consumer failed on
		}
		if len(ids) > 0 && !slices.Contains(ids, p.UUID) && !slices.Contains(ids, original) {
			continue
		}
		md := maps.Clone(p.Metadata)
		for _, k := range poisonKeys {
			delete(md, k)
		}
		again = append(again, stream.Message{UUID: original, Topic: topic, Metadata: md, Payload: p.Payload,
			DedupID: "replay-" + p.UUID})
	}
	if len(again) == 0 {
		return 0, nil
	}
	nc, err := stream.Connect(brokerURL, "poison-replay")
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	w, err := stream.NewWriter(nc, len(again))
	if err != nil {
		return 0, err
	}
	if err := errors.Join(w.Write(ctx, again)...); err != nil {
		return 0, fmt.Errorf("replay poisoned messages: %w", err)
	}
	return len(again), nil
}
