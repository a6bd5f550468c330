package postgres_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"eventually/internal/pgtest"
	"eventually/pkg/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type note struct {
	ID   uint
	Text string
}

// Each service's tables land in the schema named after it, created when
// missing, and two services' tables of one name do not meet; a second
// open (another instance) finds them there.
func TestTablesLandInTheServicesSchema(t *testing.T) {
	url := pgtest.Start(t)
	ctx := context.Background()
	for _, service := range []string{"alpha", "charlie", "alpha"} {
		db, err := postgres.Open(ctx, url, service, &note{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&note{Text: service}).Error; err != nil {
			t.Fatal(err)
		}
		postgres.Close(db)
	}
	db, err := postgres.Open(ctx, url, "public")
	if err != nil {
		t.Fatal(err)
	}
	defer postgres.Close(db)
	var schemas []string
	err = db.Raw(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'notes' ORDER BY 1`).
		Scan(&schemas).Error
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(schemas, ",") != "alpha,charlie" {
		t.Fatalf("notes tables in schemas %q, want alpha and charlie", schemas)
	}
	var n int64
	if err := db.Table("alpha.notes").Count(&n).Error; err != nil || n != 2 {
		t.Fatalf("alpha.notes has %d rows (%v), want 2: one per open", n, err)
	}
}

// A URL that is not Postgres's, or a server out of reach, is an error at
// once that says which.
func TestBadURLOrUnreachableServerIsAClearError(t *testing.T) {
	for _, bad := range []string{"mysql://db/x", "postgres:///x", "::"} {
		if _, err := postgres.ParseURL(bad); err == nil {
			t.Errorf("%q taken as a Postgres URL", bad)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = postgres.Open(context.Background(), "postgres://u:secret@"+addr+"/db?sslmode=disable", "alpha")
	if err == nil || !strings.Contains(err.Error(), "connect to postgres://u:xxxxx@"+addr) {
		t.Fatalf("unreachable server: %v, want an error naming it (password hidden)", err)
	}
}
