package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	st "eventually/internal/systemtest"
	"eventually/pkg/sqlite"
)

// Every state-changing endpoint of every service, called from a page of
// another origin (or one opened from disk), is refused with 403 and
// changes nothing; the same calls from the dashboard that overlord
// serves go through. Body-less POSTs (approve, new cart, load, reset)
// need no preflight, so only this check stands between them and any page.
func TestOnlyTheDashboardDrivesTheServices(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	alpha, beta := s.URL("alpha"), s.URL("beta")
	cart := beta + "/api/carts/cart-12345678"
	st.Must(t, st.Call(t, "POST", cart+"/submit", map[string]any{"product": "widget", "price_cents": 1000}), 202)
	var orders []struct{ GUID, Status string }
	st.Eventually(t, 15*time.Second, "a pending order", func() bool {
		st.Must(t, st.Call(t, "GET", alpha+"/api/orders", nil), 200).JSON(t, &orders)
		return len(orders) == 1 && orders[0].Status == "pending"
	})
	beforeCarts := countRows(t, s, "beta", "carts")

	calls := []struct {
		method, url string
		body        any
		want        int // from the dashboard
	}{
		{"PUT", alpha + "/api/settings", map[string]any{"fee_cents": 3000}, 200},
		{"PUT", alpha + "/api/auto-approve", map[string]any{"enabled": true}, 200},
		{"POST", alpha + "/api/orders/" + orders[0].GUID + "/approve", nil, 200},
		{"POST", beta + "/api/carts", nil, 201},
		{"POST", cart + "/load", nil, 200},
		{"POST", cart + "/reset", nil, 200},
		{"PUT", s.URL("charlie") + "/api/stage", map[string]any{"stage": 3}, 200},
	}
	before := snapshot(t, s)
	for _, origin := range []string{"http://evil.example", "null", "http://127.0.0.1:1"} {
		for _, c := range calls {
			r := st.Call(t, c.method, c.url, c.body, "Origin", origin)
			if st.Answered(t, c.method+" "+c.url, r) || r.Status != 403 {
				t.Errorf("%s %s from %s: %d, want 403", c.method, c.url, origin, r.Status)
			}
		}
	}
	if after := snapshot(t, s); !bytes.Equal(after, before) || countRows(t, s, "beta", "carts") != beforeCarts {
		t.Fatalf("refused calls changed the state:\nbefore %s\nafter  %s", before, after)
	}
	for _, c := range calls {
		st.Must(t, st.Call(t, c.method, c.url, c.body, "Origin", s.DashboardOrigin()), c.want)
	}
}

// snapshot is what the services show of their state.
func snapshot(t *testing.T, s *st.System) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, u := range []string{
		s.URL("alpha") + "/api/settings", s.URL("alpha") + "/api/orders", s.URL("alpha") + "/api/auto-approve",
		s.URL("beta") + "/api/carts/cart-12345678", s.URL("charlie") + "/api/stage",
	} {
		fmt.Fprintf(&b, "%s\n", st.Must(t, st.Call(t, "GET", u, nil), 200).Body)
	}
	return b.Bytes()
}

// countRows counts the rows of a table in a service's database.
func countRows(t *testing.T, s *st.System, service, table string) int64 {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(s.DataDir, service+".db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
