package broker

import (
	"net"
	"strings"
	"testing"
	"time"
)

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
