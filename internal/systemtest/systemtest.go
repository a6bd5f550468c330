// Package systemtest starts the real services, each exactly as the binary
// does (New, then Run), against an embedded NATS JetStream broker with
// everything in a temp dir, and offers the few helpers the scenario tests
// share: HTTP calls and polling with a deadline.
package systemtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"eventually/internal/poll"
	"eventually/internal/system"
	"eventually/pkg/broker"
	"eventually/pkg/logging"
	"eventually/pkg/messaging"
	"eventually/pkg/postgres"
	"eventually/pkg/server"
	"eventually/pkg/service"
	"eventually/pkg/sqlite"
	"eventually/pkg/stream"
)

// Options choose how the system starts.
type Options struct {
	Stage       int
	AutoApprove bool
	// Services to start; empty means all of them.
	Services []string
	// DataDir holds the databases and the broker's store; empty: a temp dir.
	DataDir string
	// DatabaseURL, a postgres:// URL, puts alpha, beta and charlie in
	// their schemas there (overlord stays on its file), as
	// EVENTUALLY_DATABASE_URL does.
	DatabaseURL string
	// Instances is how many instances of alpha, beta and charlie start
	// (default 1): more than one needs DatabaseURL, as on SQLite a second
	// is refused. The first is named after its service, the others
	// <service>-2, <service>-3, ...
	Instances int
	// BrokerURL is a broker of the test's own, e.g. a cluster
	// (natscluster); empty: an embedded broker in the temp dir.
	BrokerURL string
	// Stream is the stream's replicas and limits (zero: the defaults).
	Stream stream.Limits
	// Tracing, when set, gives each start of a service its tracer
	// provider (e.g. one recording its spans in memory); nil: no spans.
	Tracing func(service string) trace.TracerProvider
}

// Service is a running service as the tests see it.
type Service = system.Service

// AllServices is the start order.
var AllServices = system.Names

// System is a whole running system.
type System struct {
	t          testing.TB
	opts       Options
	DataDir    string
	LogDir     string
	brokerAddr string
	broker     *broker.Broker
	// addrs are the services' HTTP addresses, chosen at the start and
	// kept across restarts: the services allow the dashboard that
	// overlord serves at its address.
	addrs map[string]string

	// supervisor is where overlord passes the dashboard's stop and
	// start of a service on to (supervise.go).
	supervisor string

	mu      sync.Mutex
	running map[string]*running
}

type running struct {
	svc    Service
	cancel context.CancelFunc
	done   chan error
	logs   io.Closer
}

// Start starts the broker and the services and stops them when the test ends.
func Start(t testing.TB, opts Options) *System {
	t.Helper()
	dir := t.TempDir()
	s := &System{
		t: t, opts: opts, DataDir: filepath.Join(dir, "data"), LogDir: filepath.Join(dir, "logs"),
		brokerAddr: freeAddr(t), addrs: map[string]string{}, running: map[string]*running{},
	}
	for _, name := range AllServices {
		s.addrs[name] = freeAddr(t)
	}
	if opts.DataDir != "" {
		s.DataDir = opts.DataDir
	}
	if opts.BrokerURL == "" {
		s.startEmbeddedBroker()
	}
	s.serveSupervisor() // stops serving after the services have stopped
	t.Cleanup(s.stopAll)
	names := opts.Services
	if len(names) == 0 {
		names = AllServices
	}
	for _, name := range names {
		s.StartService(name)
	}
	for n := 2; n <= opts.Instances; n++ {
		for _, name := range names {
			if name != "overlord" { // one watcher, on its own file
				s.StartInstance(name, n)
			}
		}
	}
	return s
}

// StartInstance starts instance n (from 2) of a service; it is named
// <service>-<n> wherever a service's name is taken (URL, StopService).
func (s *System) StartInstance(name string, n int) Service {
	s.t.Helper()
	key := fmt.Sprintf("%s-%d", name, n)
	svc, err := s.start(name, key, s.opts.Stage)
	if err != nil {
		s.t.Fatal(err)
	}
	s.WaitReady(key)
	return svc
}

// Instances are the names of the running instances of a service.
func (s *System) Instances(name string) []string {
	var out []string
	for _, key := range s.runningNames() {
		if key == name || strings.HasPrefix(key, name+"-") {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// startEmbeddedBroker starts the embedded broker on a free address.
func (s *System) startEmbeddedBroker() {
	b, err := broker.Start(s.brokerAddr, s.DataDir)
	for try := 0; err != nil && strings.Contains(err.Error(), "address already in use") && try < 3; try++ {
		s.brokerAddr = freeAddr(s.t) // taken since it was picked: the services are not started yet
		b, err = broker.Start(s.brokerAddr, s.DataDir)
	}
	if err != nil {
		s.t.Fatalf("start broker: %v", err)
	}
	s.broker = b
}

// BrokerURL is the broker's nats:// URL (Options.BrokerURL, or the
// embedded broker's); it stays the same across restarts.
func (s *System) BrokerURL() string {
	if s.opts.BrokerURL != "" {
		return s.opts.BrokerURL
	}
	return "nats://" + s.brokerAddr
}

// StartBroker starts the embedded broker (again) on its address.
func (s *System) StartBroker() {
	s.t.Helper()
	if s.opts.BrokerURL != "" {
		s.t.Fatal("StartBroker: the test runs its own broker (Options.BrokerURL)")
	}
	b, err := broker.Start(s.brokerAddr, s.DataDir)
	if err != nil {
		s.t.Fatalf("start broker: %v", err)
	}
	s.broker = b
}

// StopBroker stops the broker; services keep running and reconnect.
func (s *System) StopBroker() {
	if s.broker != nil {
		s.broker.Shutdown()
		s.broker = nil
	}
}

// StartService builds and runs one service on its data dir, as the binary does.
func (s *System) StartService(name string) Service {
	s.t.Helper()
	svc, err := s.start(name, name, s.opts.Stage)
	if err != nil {
		s.t.Fatal(err)
	}
	s.WaitReady(name)
	return svc
}

// start builds and runs one instance of a service, named key, at a
// stage; it does not wait until it is ready, nor fail the test (the
// supervisor calls it too).
func (s *System) start(name, key string, stage int) (Service, error) {
	logger, logs, err := logging.ToFile(s.LogDir, key, nil)
	if err != nil {
		return nil, err
	}
	dashboard, err := server.DashboardOrigins(s.addrs["overlord"])
	if err != nil {
		logs.Close()
		return nil, err
	}
	if s.addrs[key] == "" {
		s.addrs[key] = freeAddr(s.t)
	}
	instance := ""
	if s.opts.DatabaseURL != "" {
		instance = key
	}
	var tp trace.TracerProvider
	if s.opts.Tracing != nil {
		tp = s.opts.Tracing(name)
	}
	build := func() (Service, error) {
		return system.Build(name, service.Config{
			Addr: s.addrs[key], DataDir: s.DataDir, BrokerURL: s.BrokerURL(), Stage: stage, Logger: logger,
			Browser: server.Browser{DashboardOrigins: dashboard}, DatabaseURL: s.opts.DatabaseURL, Instance: instance,
			Stream: s.opts.Stream, TracerProvider: tp,
		}, system.Options{AutoApprove: s.opts.AutoApprove, Supervisor: s.supervisor})
	}
	svc, err := build()
	for try := 0; err != nil && errors.Is(err, syscall.EADDRINUSE) && try < 3; try++ {
		// The address was free when picked; a test running beside this
		// one took it since. Another will do.
		s.addrs[key] = freeAddr(s.t)
		svc, err = build()
	}
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("start %s: %w", key, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{svc: svc, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { r.done <- svc.Run(ctx) }()
	s.mu.Lock()
	s.running[key] = r
	s.mu.Unlock()
	return svc, nil
}

// StopService stops one service and waits until it has stopped.
func (s *System) StopService(name string) {
	s.t.Helper()
	if err := s.stop(name); err != nil {
		s.t.Error(err)
	}
}

// stop stops one service, if it runs, and waits until it has stopped.
func (s *System) stop(name string) error {
	s.mu.Lock()
	r := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	defer r.logs.Close()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			return fmt.Errorf("%s stopped with error: %w", name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not stop within 30s", name)
	}
}

// Service returns a running service by name.
func (s *System) Service(name string) Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.running[name]
	if r == nil {
		s.t.Fatalf("%s is not running", name)
	}
	return r.svc
}

// DashboardOrigin is the origin of the dashboard overlord serves
// (URL("overlord") + "/eventually.html"): the one page besides their own
// that may change the services' state.
func (s *System) DashboardOrigin() string { return "http://" + s.addrs["overlord"] }

// URL is a running service's base URL.
func (s *System) URL(name string) string { return s.Service(name).URL() }

// SetStage changes the stage of every running service, as the dashboard does.
func (s *System) SetStage(n int) {
	s.t.Helper()
	names := s.runningNames()
	for _, name := range names {
		Must(s.t, Call(s.t, "PUT", s.URL(name)+"/api/stage", map[string]int{"stage": n}), 200)
	}
	s.opts.Stage = n
}

// WaitReady polls a service's /readyz until it answers 200: its
// consumers take part in the message flow.
func (s *System) WaitReady(name string) {
	s.t.Helper()
	url := s.URL(name) + "/readyz"
	Eventually(s.t, 10*time.Second, name+" ready", func() bool {
		return Call(s.t, "GET", url, nil).Status == 200
	})
}

func (s *System) runningNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.running))
	for name := range s.running {
		names = append(names, name)
	}
	return names
}

func (s *System) stopAll() {
	names := s.runningNames()
	for _, name := range names {
		s.StopService(name)
	}
	s.StopBroker()
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Eventually polls cond every 10 ms until it holds or the deadline passes.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(limit, 10*time.Millisecond, cond) {
		t.Fatalf("timed out after %s waiting for %s", limit, what)
	}
}

// StreamCount is the number of messages on a topic in the broker's stream.
func (s *System) StreamCount(topic string) uint64 {
	s.t.Helper()
	return StreamCount(s.t, s.BrokerURL(), topic)
}

// StreamCount is the number of messages on a topic in the stream of the
// broker at brokerURL.
func StreamCount(t testing.TB, brokerURL, topic string) uint64 {
	t.Helper()
	n, err := stream.Count(context.Background(), brokerURL, topic)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Message is a message read back from the broker's stream.
type Message struct {
	UUID     string
	Metadata map[string]string
	Payload  map[string]any
}

// LastMessage reads the newest message of a topic from the stream.
func (s *System) LastMessage(topic string) Message {
	s.t.Helper()
	msgs := s.Messages(topic)
	if len(msgs) == 0 {
		s.t.Fatalf("no %s message in the stream", topic)
	}
	return msgs[len(msgs)-1]
}

// Messages reads every message of a topic from the stream, oldest first.
func (s *System) Messages(topic string) []Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stored, err := stream.Read(ctx, s.BrokerURL(), topic)
	if err != nil {
		s.t.Fatalf("read %s: %v", topic, err)
	}
	var out []Message
	for _, m := range stored {
		// As on the wire: the UUID is a header too, so a republish of
		// Metadata keeps it.
		msg := Message{UUID: m.UUID, Metadata: maps.Clone(m.Metadata)}
		msg.Metadata[watermillUUIDHeader] = m.UUID
		if err := json.Unmarshal(m.Payload, &msg.Payload); err != nil {
			msg.Payload = map[string]any{"_raw": string(m.Payload)}
		}
		out = append(out, msg)
	}
	return out
}

// Processed counts the messages a consumer's inbox has recorded, read
// from the service's own database.
func (s *System) Processed(service, consumer string) int64 {
	s.t.Helper()
	db := s.DB(service)
	defer sqlite.Close(db)
	var n int64
	if err := db.Model(&messaging.ProcessedMessage{}).Where("consumer = ?", consumer).Count(&n).Error; err != nil {
		s.t.Fatalf("count %s inbox: %v", service, err)
	}
	return n
}

// DB opens a service's database as the service has it: its file in the
// data dir, or its schema on Postgres. The caller closes it (sqlite.Close
// closes either).
func (s *System) DB(service string) *gorm.DB {
	s.t.Helper()
	var db *gorm.DB
	var err error
	if s.opts.DatabaseURL != "" && service != "overlord" {
		db, err = postgres.Open(context.Background(), s.opts.DatabaseURL, service)
	} else {
		db, err = sqlite.Open(filepath.Join(s.DataDir, service+".db"))
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return db
}

// Republish publishes a copy of msg under a new message ID, with its
// metadata, as a late or duplicated delivery would arrive.
func (s *System) Republish(topic string, msg Message) string {
	s.t.Helper()
	return s.PublishRaw(topic, msg.Payload, msg.Metadata, true)
}

// PublishRaw publishes a payload with the given metadata straight to the
// broker. With newID it gets a fresh Watermill message UUID; payload may be
// a []byte to send malformed data as it is.
func (s *System) PublishRaw(topic string, payload any, metadata map[string]string, newID bool) string {
	s.t.Helper()
	data, ok := payload.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(payload); err != nil {
			s.t.Fatal(err)
		}
	}
	headers := maps.Clone(metadata)
	if headers == nil {
		headers = map[string]string{}
	}
	if newID {
		headers[watermillUUIDHeader] = uuid.NewString()
	}
	if err := stream.PublishRaw(context.Background(), s.BrokerURL(), topic, headers, data); err != nil {
		s.t.Fatal(err)
	}
	return headers[watermillUUIDHeader]
}

// watermillUUIDHeader is where Watermill's NATS format keeps a message's UUID.
const watermillUUIDHeader = "_watermill_message_uuid"

// consumers lists the broker's durable consumers of one service.
func (s *System) consumers(service string) []stream.Consumer {
	s.t.Helper()
	out, err := stream.Consumers(context.Background(), s.BrokerURL(), service)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// ConsumerTopics lists the topics a service consumes, as the broker knows them.
func (s *System) ConsumerTopics(service string) []string {
	var topics []string
	for _, c := range s.consumers(service) {
		topics = append(topics, c.Topic)
	}
	return topics
}

// Settled reports whether a service has received and acknowledged every
// message of every topic it consumes.
func (s *System) Settled(service string) bool {
	for _, c := range s.consumers(service) {
		if c.Pending > 0 || c.AckPending > 0 {
			return false
		}
	}
	return true
}

// Metadata returns valid message metadata for a message made up by a test.
func Metadata(eventName, producer, correlationID string) map[string]string {
	return map[string]string{
		"event_name": eventName, "event_version": "1", "producer": producer,
		"correlation_id": correlationID, "causation_id": "",
		"occurred_at": time.Now().UTC().Format(time.RFC3339Nano),
	}
}
