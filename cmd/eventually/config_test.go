package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// The services let the dashboard that overlord serves change their state
// by default, whatever overlord's address; EVENTUALLY_DASHBOARD_ORIGINS
// replaces that, and refuses origins any page can have.
func TestDashboardOriginsAndAllowedHosts(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		origins []string
		hosts   []string
	}{
		{map[string]string{}, []string{"http://127.0.0.1:3994", "http://localhost:3994", "http://[::1]:3994"}, nil},
		{map[string]string{"EVENTUALLY_OVERLORD_ADDR": "10.0.0.7:8000"}, []string{"http://10.0.0.7:8000"}, nil},
		{map[string]string{EnvDashboardOrigins: "http://talk.example:8000, HTTPS://Talk.Example",
			EnvAllowedHosts: "alpha:3991, Talk.Example,,"},
			[]string{"http://talk.example:8000", "https://talk.example"}, []string{"alpha:3991", "talk.example"}},
	} {
		cfg, err := loadConfig(func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if !slices.Equal(cfg.DashboardOrigins, tc.origins) || !slices.Equal(cfg.AllowedHosts, tc.hosts) {
			t.Errorf("%v: origins %q, hosts %q; want %q, %q", tc.env, cfg.DashboardOrigins, cfg.AllowedHosts, tc.origins, tc.hosts)
		}
	}
	for key, bad := range map[string]string{
		EnvDashboardOrigins + " null":   "null",
		EnvDashboardOrigins + " *":      "http://127.0.0.1:3994,*",
		EnvDashboardOrigins + " file":   "file:///home/me/eventually.html",
		EnvDashboardOrigins + " a path": "http://127.0.0.1:3994/eventually.html",
		EnvAllowedHosts + " a URL":      "http://alpha:3991",
		EnvAllowedHosts + " bad port":   "alpha:39:91",
	} {
		name := strings.Fields(key)[0]
		if _, err := loadConfig(func(k string) string { return map[string]string{name: bad}[k] }); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v, want an error naming %s", name, bad, err, name)
		}
	}
}

// The instance is host-pid unless configured; services get it.
func TestInstanceDefaultsToHostPid(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("-%d", os.Getpid()); !strings.HasSuffix(cfg.Instance, want) {
		t.Errorf("default instance %q: want host-pid", cfg.Instance)
	}
	cfg, err = loadConfig(func(k string) string {
		if k == EnvInstance {
			return "charlie-2"
		}
		return ""
	})
	if err != nil || cfg.Instance != "charlie-2" {
		t.Errorf("instance %q (%v), want charlie-2", cfg.Instance, err)
	}
}

// The stream's replicas and limits are read, or refused with the reason.
func TestStreamLimitsFromTheEnvironment(t *testing.T) {
	env := map[string]string{EnvStreamReplicas: "3", EnvStreamMaxAge: "48h", EnvStreamMaxBytes: "67108864"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stream.Replicas != 3 || cfg.Stream.MaxAge != 48*time.Hour || cfg.Stream.MaxBytes != 64<<20 {
		t.Fatalf("limits %+v", cfg.Stream)
	}
	for k, v := range map[string]string{EnvStreamReplicas: "0", EnvStreamMaxAge: "soon", EnvStreamMaxBytes: "12"} {
		if _, err := loadConfig(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}
