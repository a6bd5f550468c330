// Package broker runs an embedded NATS server with JetStream: the same
// server a team runs standalone, in the process, so the talk and the tests
// need no other program.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Broker is an embedded NATS server with JetStream, storing its streams in
// files under the data dir. It is the same server a team runs standalone;
// embedding it only saves a process during the talk and in tests.
type Broker struct {
	opts        *server.Options
	logger      *slog.Logger
	monitorAddr string

	mu  sync.Mutex
	srv *server.Server // replaced when the broker restarts (supervise)

	storeFailed atomic.Bool   // the store could not write: out of space
	stop        chan struct{} // ends supervise
	supervised  chan struct{} // closed when supervise has ended
}

// Start starts an embedded NATS JetStream server listening on addr
// ("127.0.0.1:4222"; port 0 picks a free one) and storing under dataDir.
func Start(addr, dataDir string, options ...Option) (*Broker, error) {
	b := &Broker{logger: slog.New(slog.DiscardHandler), stop: make(chan struct{}), supervised: make(chan struct{})}
	for _, o := range options {
		o(b)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: bad port", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else if err := checkFree(addr); err != nil {
		return nil, err
	}
	b.opts = &server.Options{
		ServerName: "eventually",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		// The defaults are 75% of RAM and 1 TB of disk: far more than a
		// demo may take on a laptop.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  4 << 30,
		NoSigs:             true,
	}
	if b.monitorAddr != "" {
		mhost, mport, err := net.SplitHostPort(b.monitorAddr)
		if err != nil {
			return nil, fmt.Errorf("broker monitoring address %q: %w", b.monitorAddr, err)
		}
		if b.opts.HTTPPort, err = strconv.Atoi(mport); err != nil {
			return nil, fmt.Errorf("broker monitoring address %q: bad port", b.monitorAddr)
		}
		b.opts.HTTPHost = mhost
	}
	if err := b.start(); err != nil {
		return nil, err
	}
	// A restart listens where clients already connect.
	b.opts.Port = b.server().Addr().(*net.TCPAddr).Port
	go b.supervise()
	return b, nil
}

// start starts a server with the broker's options.
func (b *Broker) start() error {
	srv, err := server.NewServer(b.opts)
	if err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	srv.SetLoggerV2(serverLog{b}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("start broker on %s:%d: not ready after 10s", b.opts.Host, b.opts.Port)
	}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	return nil
}

func (b *Broker) server() *server.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv
}

// URL is the nats:// address clients connect to.
func (b *Broker) URL() string { return b.server().ClientURL() }

// Shutdown stops the server and waits for it.
func (b *Broker) Shutdown() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.supervised
	srv := b.server()
	srv.Shutdown()
	srv.WaitForShutdown()
}

// checkFree fails when addr cannot be bound. nats-server only logs its
// listen error, so a busy port would show as
// "not ready after 10s"; this names the cause at once. Another process
// could still take the port between this check and nats-server's listen:
// then the timeout below is what is left.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("start broker on %s: address already in use (another broker, or a running boot? stop it, set EVENTUALLY_NATS_URL to use it, or EVENTUALLY_NATS_ADDR to choose another address)", addr)
	}
	if err != nil {
		return fmt.Errorf("start broker on %s: %w", addr, err)
	}
	return ln.Close()
}
