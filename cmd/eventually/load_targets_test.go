package main

import (
	"slices"
	"testing"
)

// --target is given once per service; nats= takes a list of servers,
// a service a list of its instances.
func TestLoadTargetsOnePerFlag(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseTargets(cfg, []string{"nats=nats://10.0.0.1:4222,nats://10.0.0.2:4222", "charlie=http://10.0.0.3:3993/"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Broker != "nats://10.0.0.1:4222,nats://10.0.0.2:4222" || got.Charlie != "http://10.0.0.3:3993" ||
		got.Alpha != "http://"+cfg.Addrs["alpha"] {
		t.Fatalf("targets %+v", got)
	}
	many, err := parseTargets(cfg, []string{"charlie=http://10.0.0.3:3993/, http://10.0.0.4:3993"})
	if err != nil {
		t.Fatal(err)
	}
	if many.Charlie != "http://10.0.0.3:3993" || !slices.Equal(many.More["charlie"], []string{"http://10.0.0.4:3993"}) {
		t.Fatalf("instances of charlie: %+v", many)
	}
	if _, err := parseTargets(cfg, []string{"delta=http://x"}); err == nil {
		t.Fatal("an unknown service was taken")
	}
}
