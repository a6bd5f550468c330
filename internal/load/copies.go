package load

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"eventually/pkg/stream"
)

// copiesPerBatch is how many copies are written per round trip.
const copiesPerBatch = 256

// publishCopies publishes n copies of samples (round robin, each copy
// with a new UUID, as the broker drops a repeated one: version 7, in
// publish order, as the services make them) to the system's stream at
// brokerURL: a stream of a given size to time a rebuild against.
func publishCopies(ctx context.Context, brokerURL string, samples []stream.Message, n int) error {
	if len(samples) == 0 {
		return fmt.Errorf("publish copies: no samples")
	}
	nc, err := stream.Connect(brokerURL, "copies")
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := stream.Ensure(ctx, nc, stream.Limits{}); err != nil {
		return err
	}
	w, err := stream.NewWriter(nc, copiesPerBatch)
	if err != nil {
		return err
	}
	for sent := 0; sent < n; sent += copiesPerBatch {
		batch := make([]stream.Message, min(copiesPerBatch, n-sent))
		for i := range batch {
			batch[i] = samples[(sent+i)%len(samples)]
			batch[i].UUID = uuid.Must(uuid.NewV7()).String()
		}
		if err := errors.Join(w.Write(ctx, batch)...); err != nil {
			return fmt.Errorf("publish copies after %d: %w", sent, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
