package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// Schema is the JSON Schema of an event's payload, generated from its Go
// type, so the published contract cannot drift from the code.
func Schema(c Contract) *jsonschema.Schema {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, AllowAdditionalProperties: true}
	s := r.Reflect(c.New())
	s.Version = ""
	s.Title = c.Name
	s.Description = c.Summary
	return s
}

// ContractView is one event in a service's published contracts.
type ContractView struct {
	Name      string             `json:"name"`
	Version   int                `json:"version"`           // what the producer sends today
	Versions  []int              `json:"accepted_versions"` // what consumers accept
	Producer  string             `json:"producer"`
	Consumers []string           `json:"consumers"`
	Summary   string             `json:"summary"`
	Schema    *jsonschema.Schema `json:"schema"`
}

// ServiceContracts is what a service publishes at GET /api/contracts.
type ServiceContracts struct {
	Service  string         `json:"service"`
	Produces []ContractView `json:"produces"`
	Consumes []ContractView `json:"consumes"`
}

// ContractsOf lists the events a service produces and consumes.
func ContractsOf(service string) ServiceContracts {
	out := ServiceContracts{Service: service, Produces: []ContractView{}, Consumes: []ContractView{}}
	for _, c := range Catalog() {
		v := ContractView{Name: c.Name, Version: c.Current, Versions: c.Versions,
			Producer: c.Producer, Consumers: c.Consumers, Summary: c.Summary, Schema: Schema(c)}
		if c.Producer == service {
			out.Produces = append(out.Produces, v)
		}
		if slices.Contains(c.Consumers, service) {
			out.Consumes = append(out.Consumes, v)
		}
	}
	return out
}

// Markdown renders the event catalogue as docs/events.md (`make docs`).
func Markdown() (string, error) {
	var b strings.Builder
	b.WriteString("# Events\n\n")
	b.WriteString("Generated from the Go types in `pkg/events` by `make docs`; a test fails when this file is stale.\n")
	b.WriteString("Each service also serves its part at `GET /api/contracts`.\n\n")
	b.WriteString("Every message carries metadata: its UUID (the event ID), `correlation_id`, `causation_id`, ")
	b.WriteString("`event_name`, `event_version`, `producer`, `occurred_at` (RFC 3339).\n\n")
	b.WriteString("| event | producer | consumers | sent version | accepted versions |\n|---|---|---|---|---|\n")
	for _, c := range Catalog() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %d | %s |\n", c.Name, strings.ReplaceAll(c.Name, ".", ""),
			c.Producer, strings.Join(c.Consumers, ", "), c.Current, joinInts(c.Versions))
	}
	for _, c := range Catalog() {
		schema, err := json.MarshalIndent(Schema(c), "", "  ")
		if err != nil {
			return "", fmt.Errorf("schema of %s: %w", c.Name, err)
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\nProduced by %s; consumed by %s. Sent as version %d; accepted: %s.\n\n```json\n%s\n```\n",
			c.Name, c.Summary, c.Producer, strings.Join(c.Consumers, ", "), c.Current, joinInts(c.Versions), schema)
	}
	return b.String(), nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}
