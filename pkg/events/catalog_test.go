package events

import (
	"os"
	"slices"
	"testing"
)

// docs/events.md is generated from these types; regenerate with `make docs`.
func TestEventsDocIsCurrent(t *testing.T) {
	want, err := Markdown()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatalf("read docs/events.md (generate it with `make docs`): %v", err)
	}
	if string(got) != want {
		t.Fatal("docs/events.md is stale: run `make docs`")
	}
}

func TestContractsOfService(t *testing.T) {
	alpha := ContractsOf("alpha")
	names := func(vs []ContractView) (out []string) {
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	if got := names(alpha.Produces); len(got) != 3 {
		t.Errorf("alpha produces %v, want settings.changed, order.approved, order.finalized", got)
	}
	if got := names(alpha.Consumes); len(got) != 2 {
		t.Errorf("alpha consumes %v, want order.captured, order.charged", got)
	}
	for _, v := range alpha.Consumes {
		if v.Schema == nil || v.Schema.Properties.Len() == 0 {
			t.Errorf("%s has no schema", v.Name)
		}
	}
}

// Consumer-first: producers send only a version every consumer accepts.
func TestCurrentVersionIsAccepted(t *testing.T) {
	for _, c := range Catalog() {
		if !slices.Contains(c.Versions, c.Current) {
			t.Errorf("%s: producers send version %d, consumers accept %v", c.Name, c.Current, c.Versions)
		}
	}
}
