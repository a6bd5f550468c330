package requestid

import (
	"context"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"demo-42": true, "3f1c2b9e-8d1a-4c55-9f00-2b1e0c9d7a11": true, "user@host:1/x+y=z": true,
		"": false, strings.Repeat("a", MaxLen+1): false, "a b": false, "a\nb": false, "a\x01b": false,
		"-leading-dash": false, `quote"`: false, "héllo": false,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestEnsureKeepsOrGenerates(t *testing.T) {
	ctx, id := Ensure(With(context.Background(), "demo-42"))
	if id != "demo-42" || From(ctx) != "demo-42" {
		t.Fatalf("Ensure replaced an existing ID: %q", id)
	}
	ctx, id = Ensure(context.Background())
	if !Valid(id) || From(ctx) != id {
		t.Fatalf("Ensure generated %q, context has %q", id, From(ctx))
	}
	if OrNew("bad id") == "bad id" || OrNew("good-id") != "good-id" {
		t.Fatal("OrNew does not replace a bad ID or keep a good one")
	}
}
