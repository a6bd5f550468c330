package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"eventually/internal/system"
)

// The usage text lists every service of the table, as a command with its
// role and with its address variable and default, and every variable the
// binary reads.
func TestUsageListsEveryServiceOfTheTable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	// line matches a whole line of words, however the columns are padded.
	line := func(words string) *regexp.Regexp {
		parts := strings.Fields(words)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		return regexp.MustCompile(`(?m)^  ` + strings.Join(parts, `\s+`) + `$`)
	}
	for _, s := range system.Table() {
		want := []*regexp.Regexp{
			line(s.Name + " run " + s.Name + " (" + s.Role + ")"),
			line(s.AddrEnv() + " " + s.Name + "'s HTTP address (default " + s.DefaultAddr + ")"),
		}
		for _, re := range want {
			if !re.MatchString(text) {
				t.Errorf("%s: usage has no line matching %s:\n%s", s.Name, re, text)
			}
		}
	}
	for _, v := range envVars() {
		if !line(v.name + " " + v.help).MatchString(text) {
			t.Errorf("usage does not explain %s:\n%s", v.name, text)
		}
	}
	if strings.Contains(text, "CRASH") {
		t.Errorf("usage mentions a crash switch; fault injection is not configuration:\n%s", text)
	}
}

// Each service's address comes from its EVENTUALLY_<NAME>_ADDR, else the
// table's default; the configuration knows no service the table does not.
func TestConfigReadsEachServiceAddressFromTheTable(t *testing.T) {
	defaults, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for i, s := range system.Table() {
		set[s.AddrEnv()] = "0.0.0.0:" + strconv.Itoa(5000+i)
	}
	custom, err := loadConfig(func(k string) string { return set[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(defaults.Addrs) != len(system.Table()) || len(custom.Addrs) != len(system.Table()) {
		t.Errorf("addresses %v and %v: want one per service of the table", defaults.Addrs, custom.Addrs)
	}
	for _, s := range system.Table() {
		if got := defaults.Addrs[s.Name]; got != s.DefaultAddr {
			t.Errorf("%s: default address %q, want the table's %q", s.Name, got, s.DefaultAddr)
		}
		if got := custom.Addrs[s.Name]; got != set[s.AddrEnv()] {
			t.Errorf("%s: with %s=%s the address is %q", s.Name, s.AddrEnv(), set[s.AddrEnv()], got)
		}
	}
}

// README's configuration table has a row for every variable the binary
// reads, with the table's default for each service's address.
func TestReadmeListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars() {
		if !strings.Contains(string(readme), "| `"+v.name+"` |") {
			t.Errorf("README.md's configuration table has no row for %s", v.name)
		}
	}
	for _, s := range system.Table() {
		if row := "| `" + s.AddrEnv() + "` | `" + s.DefaultAddr + "` |"; !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row %q", row)
		}
	}
}
