// Package load drives orders through a running system and measures it:
// throughput, latency, settings propagation, the raw transport's ceiling
// on the same broker, and overlord's rebuild; and it checks that nothing
// was lost or done twice. `eventually load` starts the processes and
// calls Run.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"eventually/pkg/broker"
	"eventually/pkg/service"
	"eventually/pkg/stream"
	"eventually/services/overlord"
)

// Targets are the base URLs of a running system.
type Targets struct {
	Alpha, Beta, Charlie string // http://host:port
	Broker               string // nats://host:port
	// More are further instances of alpha, beta or charlie, by service
	// name: the customers' carts are spread over every beta, settings
	// copies are awaited in every instance, and the check reads the
	// orders, charges and ledgers of every alpha and charlie.
	More map[string][]string
}

// instances are the base URLs of every instance of a service.
func (t Targets) instances(name string) []string {
	first := map[string]string{"alpha": t.Alpha, "beta": t.Beta, "charlie": t.Charlie}[name]
	return append([]string{first}, t.More[name]...)
}

// Options shape a run.
type Options struct {
	Orders    int     // default 2,000
	Customers int     // concurrent customers, each with its own cart; default 16
	Rate      float64 // orders per second to offer; 0: as fast as the system takes them
	Changes   int     // settings changes timed; default 200, negative: none
	// Timeout is how long a customer waits for its order's order.finalized
	// before the order counts as lost.
	Timeout time.Duration
	// Rebuild times overlord's rebuild of the run's messages (in a temp dir).
	Rebuild bool
	// RebuildSize, when set, also times a rebuild from a stream of that
	// many copies of the run's messages, as a long-lived system has. The
	// copies go to a broker of their own: on the run's broker the services
	// would consume them.
	RebuildSize int
	// Progress gets a progress bar while orders run; nil for none.
	Progress io.Writer
	// Processes are the services' process IDs by name, when they run
	// apart from this one: their CPU time counts in the CPU per order.
	Processes map[string]int
}

func (o *Options) defaults() {
	if o.Orders <= 0 {
		o.Orders = 2000
	}
	if o.Customers <= 0 {
		o.Customers = 16
	}
	o.Customers = min(o.Customers, o.Orders)
	if o.Changes == 0 {
		o.Changes = 200
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
}

// ceilingPublishers is one publisher per service, as in the system.
const ceilingPublishers = 4

// Result is a run's report, or why it could not run.
type Result struct {
	Report Report
	Err    error
}

// Start runs Run in the background, for a caller that does something to
// the system meanwhile (kills a server, say); the result comes on the
// channel.
func Start(ctx context.Context, svc Targets, opts Options) <-chan Result {
	done := make(chan Result, 1)
	go func() {
		r, err := Run(ctx, svc, opts)
		done <- Result{r, err}
	}()
	return done
}

// Run drives a run against svc. Its error is for a run that could not be
// made; a run that lost or duplicated anything returns a report whose
// Problems say what.
func Run(ctx context.Context, svc Targets, opts Options) (Report, error) {
	opts.defaults()
	c := newClient(opts.Customers)
	r := Report{Orders: opts.Orders, Customers: opts.Customers, Rate: opts.Rate}

	// A run-time switch is each instance's own: every alpha approves.
	on := map[string]bool{"enabled": true}
	for _, alpha := range svc.instances("alpha") {
		if err := c.call(ctx, http.MethodPut, alpha+"/api/auto-approve", "load-auto-approve", on, nil); err != nil {
			return r, fmt.Errorf("turn auto-approve on: %w", err)
		}
	}
	if opts.Changes > 0 {
		took, err := propagation(ctx, c, svc, opts.Changes, time.Millisecond)
		if err != nil {
			return r, err
		}
		r.Propagation = percentiles(took)
	}

	obs, w, err := runOrders(ctx, c, svc, opts, &r)
	if err != nil {
		return r, err
	}
	r.Problems = append(r.Problems, Check(obs)...)

	if err := measureCeiling(ctx, svc.Broker, w, &r); err != nil {
		return r, err
	}
	if opts.Rebuild {
		if r.Rebuild, err = measureRebuild(ctx, svc.Broker); err != nil {
			return r, err
		}
	}
	if opts.RebuildSize > 0 {
		if r.LargeRebuild, err = measureLargeRebuild(ctx, w.sampled(), opts.RebuildSize); err != nil {
			return r, err
		}
	}
	return r, nil
}

// runOrders is the order phase: customers submit, the watcher sees them
// finalized; then it gathers what the services hold for the check.
func runOrders(ctx context.Context, c *client, svc Targets, opts Options, r *Report) (Observed, *watcher, error) {
	customers := make([]*customer, opts.Customers)
	carts := make([]string, opts.Customers)
	betas := svc.instances("beta")
	for i := range customers {
		beta := betas[i%len(betas)]
		cart, err := newCart(ctx, c, beta)
		if err != nil {
			return Observed{}, nil, err
		}
		customers[i], carts[i] = &customer{cart: cart, beta: beta}, cart
	}
	w := newWatcher(carts)
	stopWatching, err := w.start(ctx, svc.Broker)
	if err != nil {
		return Observed{}, nil, err
	}
	defer stopWatching()

	paceCtx, stopPace := context.WithCancel(ctx)
	defer stopPace()
	run := &orders{svc: svc, client: c, watch: w, total: opts.Orders, pace: pacer(paceCtx, opts.Rate),
		timeout: opts.Timeout, product: "load widget", priceCts: 1000}
	cpuBefore, err := cpuTimes(opts.Processes)
	if err != nil {
		return Observed{}, nil, err
	}
	bar := startProgress(opts.Progress, opts.Orders, &w.finalizedN)
	var wg sync.WaitGroup
	for _, cu := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.drive(ctx, cu)
		}()
	}
	wg.Wait()
	bar.end()
	stopPace()
	cpuAfter, err := cpuTimes(opts.Processes)
	if err != nil {
		return Observed{}, nil, err
	}
	r.CPUPerOrderMs = map[string]float64{}
	for name, after := range cpuAfter {
		r.CPUPerOrderMs[name] = ms(after-cpuBefore[name]) / float64(max(opts.Orders, 1))
	}
	// Read before the check, whose one large listing of orders is not
	// what a service holds while it works.
	if len(opts.Processes) > 0 {
		r.PeakRSSMB = map[string]float64{}
		for name, pid := range opts.Processes {
			if r.PeakRSSMB[name], err = PeakRSSMB(pid); err != nil {
				return Observed{}, nil, err
			}
		}
	}

	obs := Observed{Accepted: map[string]int{}}
	var latency []time.Duration
	var failures []error
	for _, cu := range customers {
		obs.Accepted[cu.cart] = cu.accepted
		latency = append(latency, cu.latency...)
		r.Retries += cu.retries
		if cu.err != nil {
			failures = append(failures, cu.err)
		}
	}
	if ctx.Err() != nil {
		return obs, w, ctx.Err()
	}
	for _, err := range failures {
		r.Problems = append(r.Problems, err.Error())
	}
	r.Latency = percentiles(latency)
	w.mu.Lock()
	elapsed := w.lastSeen.Sub(run.firstAt)
	w.mu.Unlock()
	r.Seconds = elapsed.Seconds()
	r.OrdersPerSec = perSecond(int(w.finalizedN.Load()), elapsed)
	r.Messages = int(w.messages.Load())
	r.MessagesPerSec = perSecond(r.Messages, elapsed)
	obs.Finalized = w.finalizedOrders()
	return obs, w, gather(ctx, c, svc, carts, &obs)
}

// gather reads the orders and charges of the run's carts from every
// alpha and charlie instance, and every charlie instance's ledger.
func gather(ctx context.Context, c *client, svc Targets, carts []string, obs *Observed) error {
	accepted := 0
	for _, n := range obs.Accepted {
		accepted += n
	}
	// Newest first: the run's orders are the newest, and some room above
	// them shows duplicates. 10,000 is the most alpha and charlie list at once.
	limit := min(accepted+100, 10000)
	ours := make(map[string]bool, len(carts))
	for _, cart := range carts {
		ours[cart] = true
	}
	obs.OrdersComplete, obs.ChargesComplete = true, true
	for _, alpha := range svc.instances("alpha") {
		orders, complete, err := listOfRun(ctx, c, alpha+"/api/orders", limit, ours, func(o Order) string { return o.CartGUID })
		if err != nil {
			return fmt.Errorf("alpha's orders: %w", err)
		}
		obs.Orders, obs.OrdersComplete = append(obs.Orders, orders...), obs.OrdersComplete && complete
	}
	for _, charlie := range svc.instances("charlie") {
		charges, complete, err := listOfRun(ctx, c, charlie+"/api/charges", limit, ours, func(ch Charge) string { return ch.CartGUID })
		if err != nil {
			return fmt.Errorf("charlie's charges: %w", err)
		}
		obs.Charges, obs.ChargesComplete = append(obs.Charges, charges...), obs.ChargesComplete && complete
		var ledger Ledger
		if err := c.call(ctx, http.MethodGet, charlie+"/api/ledger", "", nil, &ledger); err != nil {
			return fmt.Errorf("ledger after the run: %w", err)
		}
		obs.Ledgers = append(obs.Ledgers, ledger)
	}
	return nil
}

// listOfRun lists the newest limit rows at url and keeps those of the
// run's carts; complete says the listing held every row.
func listOfRun[T any](ctx context.Context, c *client, url string, limit int, ours map[string]bool,
	cart func(T) string) ([]T, bool, error) {
	var all []T
	if err := c.call(ctx, http.MethodGet, fmt.Sprintf("%s?limit=%d", url, limit), "", nil, &all); err != nil {
		return nil, false, err
	}
	var out []T
	for _, row := range all {
		if ours[cart(row)] {
			out = append(out, row)
		}
	}
	return out, len(all) < limit, nil
}

// measureCeiling moves as many messages as the run published, of the
// run's mean payload size and with a real message's metadata, through raw
// Watermill on the same broker.
func measureCeiling(ctx context.Context, broker string, w *watcher, r *Report) error {
	samples := w.sampled()
	if len(samples) == 0 {
		return errors.New("raw transport: the run published nothing to copy")
	}
	size := w.averagePayload()
	msg := stream.Message{Payload: bytes.Repeat([]byte{'x'}, size), Metadata: samples[0].Metadata}
	n := max(r.Messages, 1000)
	ceiling, err := stream.MeasureCeiling(ctx, broker, msg, n, ceilingPublishers, service.InFlight)
	if err != nil {
		return err
	}
	r.Transport.Messages, r.Transport.PayloadBytes, r.Transport.Publishers = n, size, ceilingPublishers
	r.Transport.PerSec = ceiling.PerSecond()
	if r.Transport.PerSec > 0 {
		r.Transport.Ratio = r.MessagesPerSec / r.Transport.PerSec
	}
	return nil
}

// measureRebuild rebuilds overlord's store from the stream in a temp dir,
// as `eventually overlord --rebuild` does, leaving the running overlord alone.
func measureRebuild(ctx context.Context, broker string) (Rebuild, error) {
	dir, err := os.MkdirTemp("", "eventually-rebuild-")
	if err != nil {
		return Rebuild{}, fmt.Errorf("rebuild: %w", err)
	}
	defer os.RemoveAll(dir)
	rebuilt, err := overlord.Rebuild(ctx, dir, broker)
	if err != nil {
		return Rebuild{}, err
	}
	return Rebuild{Messages: rebuilt.Messages, Seconds: rebuilt.Took.Seconds(), PerSec: rebuilt.PerSecond()}, nil
}

// measureLargeRebuild fills the stream of a broker of its own with n
// copies of samples, then rebuilds from it.
func measureLargeRebuild(ctx context.Context, samples []stream.Message, n int) (Rebuild, error) {
	dir, err := os.MkdirTemp("", "eventually-large-rebuild-")
	if err != nil {
		return Rebuild{}, fmt.Errorf("large rebuild: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := broker.Start("127.0.0.1:0", dir)
	if err != nil {
		return Rebuild{}, err
	}
	defer b.Shutdown()
	if err := publishCopies(ctx, b.URL(), samples, n); err != nil {
		return Rebuild{}, err
	}
	return measureRebuild(ctx, b.URL())
}
