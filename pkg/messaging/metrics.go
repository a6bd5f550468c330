package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	wmmetrics "github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"eventually/pkg/stream"
)

// metricsNamespace prefixes every metric of the project.
const metricsNamespace = "eventually"

// metrics are the bus's Prometheus metrics. Watermill's own metrics
// component counts and times handlers and publishers; these say what it
// cannot see: the outbox (written in a transaction, relayed by our own
// relay), the inbox, the poison topic, and the broker's view of each
// durable consumer.
type metrics struct {
	duplicates *prometheus.CounterVec // consumer
	poisoned   *prometheus.CounterVec // consumer, reason
	relayed    *prometheus.CounterVec // topic, result
	// conn is the broker connection, once Run has made it: the consumer
	// collector asks the broker through it at each scrape.
	conn atomic.Pointer[nats.Conn]
}

// Reasons a message went to the poison topic, a label with few values:
// the full reason, which may name the message, is in its metadata.
const (
	reasonInvalid       = "invalid"              // undecodable, invalid, unknown version, unexpected producer
	reasonExhausted     = "deliveries_exhausted" // failed on every delivery allowed
	reasonUnpublishable = "unpublishable"        // the broker will never take it (set aside by the relay)
)

// newMetrics registers the bus's metrics on reg; with no reg they count
// all the same and nobody reads them. Counting is an atomic add: the
// handlers and the relay pay nothing worth measuring for it.
func newMetrics(reg prometheus.Registerer, b *Bus) (*metrics, error) {
	m := &metrics{
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace,
			Name: "inbox_duplicates_dropped_total",
			Help: "Messages delivered again after their effect had committed, acknowledged without changing anything."},
			[]string{"consumer"}),
		poisoned: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace,
			Name: "poisoned_messages_total",
			Help: "Messages sent to the poison topic, by consumer and reason (invalid, deliveries_exhausted, unpublishable)."},
			[]string{"consumer", "reason"}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace,
			Name: "outbox_relayed_total",
			Help: "Outbox messages the relay sent to the broker, by topic and result (published, failed, set_aside)."},
			[]string{"topic", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.duplicates, m.poisoned, m.relayed,
		outboxCollector{store: b.cfg.Store}, consumerCollector{bus: b}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("messaging metrics: %w", err)
		}
	}
	// Watermill's metrics: each handler's execution time and result (the
	// poison publisher's time is added by Run). Not its subscriber
	// decorator: it starts a goroutine per message to wait for the ack,
	// and says nothing the handler's count and the broker's ack pending
	// do not.
	b.router.AddMiddleware(wmmetrics.NewPrometheusMetricsBuilder(reg, metricsNamespace, "watermill").NewRouterMiddleware().Middleware)
	return m, nil
}

// poisonReason is the label value of a poisoning error's reason.
func poisonReason(reason string) string {
	if strings.Contains(reason, errDeliveriesExhausted.Error()) {
		return reasonExhausted
	}
	return reasonInvalid // the only other error neverProcessed lets through
}

// countRelayed counts what the broker said of each message of a batch.
// A relay without metrics (a unit test's) counts nothing.
func (m *metrics) countRelayed(msgs []stream.Message, errs []error) {
	if m == nil {
		return
	}
	for i, err := range errs {
		result := "published"
		switch {
		case errors.Is(err, stream.ErrUnpublishable):
			result = "set_aside"
		case err != nil:
			result = "failed"
		}
		m.relayed.WithLabelValues(msgs[i].Topic, result).Inc()
	}
}

// countSetAside counts a message the relay set aside as poisoned.
func (m *metrics) countSetAside(service string) {
	if m != nil {
		m.poisoned.WithLabelValues(service+" outbox", reasonUnpublishable).Inc()
	}
}

// Backlogger is a Store that can say how much of its outbox waits to be
// relayed. GormStore is one, and so every store built on it.
type Backlogger interface {
	// Backlog is the number of outbox messages neither published nor set
	// aside, and when the oldest of them was written (zero when none).
	Backlog(ctx context.Context) (n int64, oldest time.Time, err error)
}

// scrapeTimeout bounds what one scrape may wait for the database or the
// broker: a scrape must answer even while either is stuck.
const scrapeTimeout = 2 * time.Second

var (
	backlogDesc = prometheus.NewDesc(metricsNamespace+"_outbox_backlog_messages",
		"Outbox messages committed but not yet published (set-aside ones excluded).", nil, nil)
	oldestDesc = prometheus.NewDesc(metricsNamespace+"_outbox_oldest_unpublished_age_seconds",
		"Age of the oldest outbox message not yet published; 0 when none waits.", nil, nil)
)

// outboxCollector reads the outbox backlog from the database at each
// scrape: the database is the truth (it survives a restart, and another
// instance's relay may publish), and a count between scrapes costs nothing.
type outboxCollector struct{ store Store }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	bl, ok := c.store.(Backlogger)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, oldest, err := bl.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(backlogDesc, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, time.Since(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}

var (
	consumerLabels  = []string{"consumer", "topic"}
	connectedDesc   = prometheus.NewDesc(metricsNamespace+"_broker_connected", "1 while the service's connection to the broker is up, else 0.", nil, nil)
	pendingDesc     = prometheus.NewDesc(metricsNamespace+"_consumer_pending_messages", "Messages in the stream the durable consumer has not been delivered yet (the broker's num_pending).", consumerLabels, nil)
	ackPendingDesc  = prometheus.NewDesc(metricsNamespace+"_consumer_ack_pending_messages", "Messages delivered to the durable consumer and not acknowledged yet (num_ack_pending).", consumerLabels, nil)
	redeliveredDesc = prometheus.NewDesc(metricsNamespace+"_consumer_redelivered_messages", "Messages the broker has delivered to the durable consumer more than once and that are not acknowledged yet (num_redelivered).", consumerLabels, nil)
)

// consumerCollector asks the broker, at each scrape, for the state of the
// service's durable consumers: their lag is the broker's to know. While
// the broker is away it says so (broker_connected 0) and leaves the
// consumers out, rather than failing the scrape: that is when the other
// metrics matter most.
type consumerCollector struct{ bus *Bus }

func (c consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectedDesc
	ch <- pendingDesc
	ch <- ackPendingDesc
	ch <- redeliveredDesc
}

func (c consumerCollector) Collect(ch chan<- prometheus.Metric) {
	conn := c.bus.metrics.conn.Load()
	connected := conn != nil && conn.Status() == nats.CONNECTED
	ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, map[bool]float64{true: 1}[connected])
	if !connected {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, cons := range c.bus.consumes {
		info, err := stream.ConsumerState(ctx, conn, cons.durable)
		if err != nil {
			continue // gone for now: readiness reports and recreates it
		}
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(info.Pending), cons.durable, cons.topic)
		ch <- prometheus.MustNewConstMetric(ackPendingDesc, prometheus.GaugeValue, float64(info.AckPending), cons.durable, cons.topic)
		ch <- prometheus.MustNewConstMetric(redeliveredDesc, prometheus.GaugeValue, float64(info.Redelivered), cons.durable, cons.topic)
	}
}

// decoratePoison gives the poison publisher Watermill's publisher
// metrics, when there is a registry.
func decoratePoison(reg prometheus.Registerer, pub message.Publisher) (message.Publisher, error) {
	if reg == nil {
		return pub, nil
	}
	return wmmetrics.NewPrometheusMetricsBuilder(reg, metricsNamespace, "watermill").DecoratePublisher(pub)
}
