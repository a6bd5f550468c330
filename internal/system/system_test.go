package system

import (
	"net"
	"regexp"
	"slices"
	"testing"

	"eventually/pkg/service"
)

// Every row is complete, and no two services share a name, an address
// or a colour: each is told apart in the configuration and in boot's output.
func TestTableRowsAreCompleteAndDistinct(t *testing.T) {
	table := Table()
	if len(table) == 0 {
		t.Fatal("no services")
	}
	seen := map[string]string{}
	distinct := func(kind, value, name string) {
		if other, ok := seen[kind+" "+value]; ok {
			t.Errorf("%s and %s share the %s %q", other, name, kind, value)
		}
		seen[kind+" "+value] = name
	}
	lowerWord := regexp.MustCompile(`^[a-z]+$`)
	for _, s := range table {
		if !lowerWord.MatchString(s.Name) {
			t.Errorf("name %q: want one lower-case word (it is a command and part of an env name)", s.Name)
		}
		if s.Role == "" || s.Colour == "" || s.Build == nil {
			t.Errorf("%s: role %q, colour %q, build set %v: want all three", s.Name, s.Role, s.Colour, s.Build != nil)
		}
		if host, _, err := net.SplitHostPort(s.DefaultAddr); err != nil || host != "127.0.0.1" {
			t.Errorf("%s: default address %q: want a loopback host:port (%v)", s.Name, s.DefaultAddr, err)
		}
		distinct("name", s.Name, s.Name)
		distinct("address", s.DefaultAddr, s.Name)
		distinct("colour", s.Colour, s.Name)
	}
	if got := Table()[0].AddrEnv(); got != "EVENTUALLY_ALPHA_ADDR" {
		t.Errorf("alpha's AddrEnv = %q, want EVENTUALLY_ALPHA_ADDR", got)
	}
}

// Names and Lookup are read from the table, in its order.
func TestNamesAndLookupFollowTheTable(t *testing.T) {
	var want []string
	for _, s := range Table() {
		want = append(want, s.Name)
		if got, ok := Lookup(s.Name); !ok || got.DefaultAddr != s.DefaultAddr {
			t.Errorf("Lookup(%q) = %+v, %v", s.Name, got, ok)
		}
	}
	if !slices.Equal(Names, want) {
		t.Errorf("Names = %v, want %v", Names, want)
	}
	if _, ok := Lookup("no-such-service"); ok {
		t.Error("Lookup found a service that is not in the table")
	}
	if _, err := Build("no-such-service", service.Config{}, Options{}); err == nil {
		t.Error("Build built a service that is not in the table")
	}
}
