package messaging

import (
	"fmt"
	"slices"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// checkCatalogue compares what the service registered with what the
// catalogue says it consumes: a handler the catalogue does not list, or a
// listed event without a handler, is a mistake to catch at start-up.
func (b *Bus) checkCatalogue() error {
	var registered []string
	for _, c := range b.consumes {
		registered = append(registered, c.topic)
		if c.topic == stream.PoisonTopic {
			continue // not an event: anyone may watch it
		}
		contract, ok := b.contract(c.topic)
		if !ok || !slices.Contains(contract.Consumers, b.cfg.Service) {
			return fmt.Errorf("%s handles %s, but the event catalogue does not list it as a consumer", b.cfg.Service, c.topic)
		}
	}
	for _, contract := range b.cfg.Catalogue {
		if slices.Contains(contract.Consumers, b.cfg.Service) && !slices.Contains(registered, contract.Name) {
			return fmt.Errorf("the event catalogue lists %s as a consumer of %s, but it has no handler", b.cfg.Service, contract.Name)
		}
	}
	return nil
}

// contract is the catalogue's contract of an event.
func (b *Bus) contract(name string) (events.Contract, bool) {
	i := slices.IndexFunc(b.cfg.Catalogue, func(c events.Contract) bool { return c.Name == name })
	if i < 0 {
		return events.Contract{}, false
	}
	return b.cfg.Catalogue[i], true
}
