package broker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/internal/fulldisk"
	"eventually/internal/poll"
)

// When its store runs out of space the server fails every publish, and
// goes on failing after space is back; the broker restarts it then, and
// publishing resumes without anyone restarting anything.
func TestJetStreamComesBackAfterAFullDisk(t *testing.T) {
	disk := fulldisk.Mount(t, 32)
	b, err := Start("127.0.0.1:0", disk.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	nc, err := nats.Connect(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "S", Subjects: []string{"s"}}); err != nil {
		t.Fatal(err)
	}
	publish := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.Publish("s", make([]byte, 64<<10), nats.Context(ctx))
		return err
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	disk.Fill(t)
	var failed error
	for i := 0; i < 100 && failed == nil; i++ {
		failed = publish()
	}
	if failed == nil {
		t.Fatal("publishing went on with the disk full")
	}
	disk.Free(t)
	if !poll.Until(15*time.Second, 100*time.Millisecond, func() bool { return publish() == nil }) {
		t.Fatalf("publishing did not resume within 15 s of space coming back: %v", errors.Join(publish()))
	}
}

// A busy broker port is named as such at once, not after a 10 s wait
// for a broker that never listens.
func TestBusyAddressIsNamed(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	start := time.Now()
	b, err := Start(addr, t.TempDir())
	if err == nil {
		b.Shutdown()
		t.Fatalf("started a broker on the busy %s", addr)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q: want it to name %s and say it is in use", err, addr)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s to find the address busy", took)
	}
}

// The monitoring port is closed unless asked for, then answers /varz.
func TestMonitoringPortOnRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b, err := Start("127.0.0.1:0", t.TempDir(), WithMonitor(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	res, err := http.Get("http://" + addr + "/varz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/varz: %s", res.Status)
	}
}
