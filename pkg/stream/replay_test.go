package stream

import (
	"context"
	"testing"
)

// ReplayEach hands each message as Replay decodes it: the same UUID (a
// foreign message's derived from its stream position), topic, payload
// and metadata, read by key.
func TestReplayEachSeesWhatReplayDecodes(t *testing.T) {
	nc := streamOnBroker(t)
	ctx := context.Background()
	url := nc.ConnectedUrl()
	sent := []map[string]string{
		{"_watermill_message_uuid": "m-1", "event_name": "order.approved", "correlation_id": "req-1"},
		{"event_name": "foreign"}, // no Watermill UUID
	}
	for _, headers := range sent {
		if err := PublishRaw(ctx, url, PoisonTopic, headers, []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	var decoded []Message
	if _, err := Replay(ctx, url, Topics(), func(m Message) error {
		decoded = append(decoded, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	i := 0
	n, err := ReplayEach(ctx, url, Topics(), func(r *Replayed) error {
		want := decoded[i]
		i++
		if r.UUID != want.UUID || r.Topic != want.Topic || string(r.Payload) != string(want.Payload) ||
			r.Sequence != want.Sequence || !r.StoredAt.Equal(want.StoredAt) {
			t.Errorf("message %d: replayed %s %s %q seq %d, decoded %s %s %q seq %d",
				i, r.UUID, r.Topic, r.Payload, r.Sequence, want.UUID, want.Topic, want.Payload, want.Sequence)
		}
		for _, key := range []string{"event_name", "correlation_id"} {
			if got := r.Get(key); got != want.Metadata[key] {
				t.Errorf("message %d: %s is %q, decoded %q", i, key, got, want.Metadata[key])
			}
		}
		return nil
	})
	if err != nil || n != len(sent) || len(decoded) != len(sent) {
		t.Fatalf("replayed %d, decoded %d, want %d (%v)", n, len(decoded), len(sent), err)
	}
	if decoded[0].UUID != "m-1" || decoded[1].UUID == "" {
		t.Errorf("UUIDs %q and %q: want m-1 and one derived", decoded[0].UUID, decoded[1].UUID)
	}
}
