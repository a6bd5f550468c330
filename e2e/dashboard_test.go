package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"eventually/internal/console"
	st "eventually/internal/systemtest"
	"eventually/pkg/stage"
)

// dashboard drives web/eventually.html, as overlord serves it, against the
// services of one running system.
type dashboard struct {
	t   *testing.T
	ctx context.Context
	sys *st.System
}

// openDashboard opens the dashboard overlord serves, with the services'
// addresses in the query string, as a presenter would on other ports. It
// is opened as localhost and the services framed as 127.0.0.1: two sites,
// so that Chromium runs each framed page as a target of its own, which the
// test attaches to. (Both are the dashboard's origins by default.)
func openDashboard(t *testing.T, ctx context.Context, sys *st.System) *dashboard {
	t.Helper()
	q := url.Values{}
	for _, name := range st.AllServices {
		q.Set(name, sys.URL(name))
	}
	overlord, err := url.Parse(sys.URL("overlord"))
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "http", Host: "localhost:" + overlord.Port(), Path: "/eventually.html", RawQuery: q.Encode()}
	do(t, ctx, "open the dashboard", chromedp.Navigate(u.String()))
	return &dashboard{t: t, ctx: ctx, sys: sys}
}

// in returns the dashboard for a subtest.
func (d *dashboard) in(t *testing.T) *dashboard { return &dashboard{t: t, ctx: d.ctx, sys: d.sys} }

// poll waits until a JavaScript function returns a non-empty string in the
// dashboard itself, and returns it.
func (d *dashboard) poll(what, fn string, args ...any) string {
	d.t.Helper()
	return pollIn(d.t, d.ctx, what, fn, args...)
}

// showTab clicks tab n and waits until all its pages have loaded.
func (d *dashboard) showTab(n int) {
	d.t.Helper()
	do(d.t, d.ctx, fmt.Sprintf("click tab %d", n), chromedp.Click(chromedp.CSS(fmt.Sprintf("#tab-%d", n))))
	d.poll(fmt.Sprintf("tab %d's pages to load", n), `(n) => {
		const frames = [...document.querySelectorAll("#services iframe")];
		return document.getElementById("tab-" + n).getAttribute("aria-selected") === "true" &&
			frames.length > 0 && frames.every((f) => f.dataset.loaded) ? "loaded" : "";
	}`, n)
}

// pressStage clicks "Show the problem" (before) or "Show the fix" (after)
// and waits until every service reports the stage it stands for.
func (d *dashboard) pressStage(button string, want int) {
	d.t.Helper()
	sel := "#stage-" + button
	got := run(d.t, d.ctx, "read "+sel, chromedp.AttributeValue(chromedp.CSS(sel), "data-stage"))
	if got.Value != fmt.Sprint(want) {
		d.t.Fatalf("%s switches to stage %q, want %d", sel, got.Value, want)
	}
	do(d.t, d.ctx, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
	d.poll(fmt.Sprintf("every service at stage %d", want), allAtStageJS, want, sel)
	for _, name := range st.AllServices {
		var body struct{ Stage int }
		st.Must(d.t, st.Call(d.t, "GET", d.sys.URL(name)+"/api/stage", nil), 200).JSON(d.t, &body)
		if body.Stage != want {
			d.t.Fatalf("%s runs stage %d, want %d", name, body.Stage, want)
		}
	}
}

// allAtStageJS checks that the dashboard shows all four services at the
// stage, and (given a button) that the button shows pressed.
const allAtStageJS = `(want, button = "") => {
	const shown = [...document.querySelectorAll("#stages .svc")];
	const pressed = !button || document.querySelector(button).getAttribute("aria-pressed") === "true";
	return shown.length === 4 && shown.every((s) => s.dataset.stage === String(want)) && pressed ? "yes" : "";
}`

// betaFollows waits until beta's copy of the settings has the version:
// the customer's form shows the copy only once the event has arrived.
func (d *dashboard) betaFollows(version string) {
	d.t.Helper()
	st.Eventually(d.t, wait, "beta's copy at version "+version, func() bool {
		var body struct{ Version int64 }
		st.Must(d.t, st.Call(d.t, "GET", d.sys.URL("beta")+"/api/settings", nil), 200).JSON(d.t, &body)
		return fmt.Sprint(body.Version) == version
	})
}

// page is a service page framed on the current tab.
func (d *dashboard) page(service, path string) *page {
	d.t.Helper()
	sel := fmt.Sprintf(`#services iframe[data-service=%q][data-path=%q][data-loaded]`, service, path)
	return d.frame(service, path, sel)
}

// watcher is overlord's page under the services, once it shows path.
func (d *dashboard) watcher(path string) *page {
	d.t.Helper()
	return d.frame("overlord", path, fmt.Sprintf(`#watcher-frame[data-path=%q][data-loaded]`, path))
}

// frame finds a framed page by its iframe's selector. Framed from another
// site, every page runs in a process of its own: a target of type iframe
// whose ID is the frame's. The page's actions attach to it.
func (d *dashboard) frame(service, path, sel string) *page {
	d.t.Helper()
	name := service + path
	nodes := run(d.t, d.ctx, "find the frame of "+name, chromedp.Nodes(chromedp.CSS(sel)))
	ctx, cancel := chromedp.NewContext(d.ctx,
		chromedp.WithTargetID(target.ID(nodes[0].FrameID)), chromedp.WithDetachOnCancel())
	d.t.Cleanup(cancel)
	// The first run attaches, and the session lives as long as the context
	// of that run: so no timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		d.t.Fatalf("attach to the frame of %s: %v", name, err)
	}
	p := &page{d: d, service: service, name: name, ctx: ctx}
	// live.js is what makes a page answer clicks and refresh itself.
	p.poll("live.js to start", `() => document.readyState === "complete" && window.eventually ? "ready" : ""`)
	return p
}

// page is one framed page: its clicks and its waits happen inside it.
type page struct {
	d       *dashboard
	service string
	name    string // service and path, for messages
	ctx     context.Context
}

func (p *page) poll(what, fn string, args ...any) string {
	p.d.t.Helper()
	return pollIn(p.d.t, p.ctx, p.name+": "+what, fn, args...)
}

// click clicks an element of the page, as a presenter does.
func (p *page) click(sel string) {
	p.d.t.Helper()
	do(p.d.t, p.ctx, p.name+": click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// text waits until sel shows text containing want, and returns the text.
func (p *page) text(sel, want string) string {
	p.d.t.Helper()
	return p.poll(fmt.Sprintf("%s to show %q", sel, want), `(sel, want = "") => {
		const el = document.querySelector(sel);
		const text = el ? el.textContent.replace(/\s+/g, " ").trim() : "";
		return text && text.includes(want) ? text : "";
	}`, sel, want)
}

// changed waits until sel shows text other than old, and returns it.
func (p *page) changed(sel, old string) string {
	p.d.t.Helper()
	return p.poll(fmt.Sprintf("%s to change from %q", sel, old), `(sel, old) => {
		const el = document.querySelector(sel);
		const text = el ? el.textContent.trim() : "";
		return text && text !== old ? text : "";
	}`, sel, old)
}

// absent fails the test when sel is on the page now.
func (p *page) absent(sel, why string) {
	p.d.t.Helper()
	found := p.poll("look for "+sel, `(sel) => document.querySelector(sel) ? "found" : "absent"`, sel)
	if found != "absent" {
		p.d.t.Fatalf("%s: %s is shown: %s", p.name, sel, why)
	}
}

// call clicks something that calls the service and waits for its answer
// in the page's status line ("OK (request ID)"); it returns the request ID.
func (p *page) call(sel string) string {
	p.d.t.Helper()
	before := p.poll("the status line", `() => document.getElementById("status").textContent || "(empty)"`)
	p.click(sel)
	status := p.changed("#status", before)
	m := regexp.MustCompile(`^OK\s+\(request (\S+)\)$`).FindStringSubmatch(status)
	if m == nil {
		p.d.t.Fatalf("%s: after clicking %s the status says %q", p.name, sel, status)
	}
	return m[1]
}

// tick sets a checkbox of alpha's settings page and waits until alpha
// has saved it.
func (p *page) tick(sel string, want bool) {
	p.d.t.Helper()
	checked := p.poll("read "+sel, `(sel) => String(document.querySelector(sel).checked)`, sel)
	if checked != fmt.Sprint(want) {
		p.call(sel)
	}
}

// retick unticks and ticks a setting again, as a presenter does to make
// alpha announce it, and returns the settings version alpha ends at.
func (p *page) retick(sel string) string {
	p.d.t.Helper()
	p.tick(sel, false)
	p.tick(sel, true)
	return p.version()
}

// version is the settings version the page shows, once it has refreshed
// after the latest call.
func (p *page) version() string {
	p.d.t.Helper()
	var body struct{ Version int64 }
	st.Must(p.d.t, st.Call(p.d.t, "GET", p.d.sys.URL(p.service)+"/api/settings", nil), 200).JSON(p.d.t, &body)
	v := fmt.Sprint(body.Version)
	p.text("#settings-version", v)
	return v
}

// pollIn polls fn (a JavaScript function returning a string) in the
// dashboard or a framed page until it returns a non-empty string or the
// wait is over.
func pollIn(t *testing.T, ctx context.Context, what, fn string, args ...any) string {
	t.Helper()
	opts := []chromedp.PollOption{
		chromedp.WithPollingInterval(50 * time.Millisecond), chromedp.WithPollingTimeout(wait),
		chromedp.WithPollingArgs(args...),
	}
	ctx, cancel := context.WithTimeout(ctx, wait+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.PollFunction[string](fn, opts...))
	if err != nil {
		t.Fatalf("timed out waiting for %s: %v", what, err)
	}
	return v
}

// TestDashboard walks the talk the way the presenter does: each tab's
// "try this" steps, clicked in the framed pages, before and after the fix,
// checking what the audience sees. The tabs run in order on one system,
// as they do in a talk.
func TestDashboard(t *testing.T) {
	started := time.Now()
	// The system first: cleanups run last-in first-out, so the browser
	// closes its live pages' connections before the services stop.
	sys := st.Start(t, st.Options{Stage: stage.Max})
	ctx := startBrowser(t)
	do(t, ctx, "set the viewport", chromedp.EmulateViewport(viewportWidth, viewportHeight))
	d := openDashboard(t, ctx, sys)

	tabs := []struct {
		name string
		walk func(*dashboard)
	}{
		{"1-change-events", changeEvents},
		{"2-transition-events", transitionEvents},
		{"3-change-and-transition", changeAndTransition},
		{"4-shared-lifecycle-events", sharedLifecycle},
		{"5-request-ids", requestIDs},
		{"6-service-down", serviceDown},
	}
	for _, tab := range tabs {
		ok := t.Run(tab.name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					if err := saveScreenshot(t, ctx, tab.name+"-failed"); err != nil {
						t.Log(err)
					}
				}
			}()
			tab.walk(d.in(t))
		})
		if !ok {
			return // the next tab starts where this one should have left off
		}
	}
	t.Run("served-by-overlord", func(t *testing.T) { servedByOverlord(d.in(t)) })
	t.Run("not-ready-shown", func(t *testing.T) { notReadyShown(d.in(t)) })
	t.Logf("the whole walkthrough took %s", time.Since(started).Round(time.Millisecond))
}

// servedByOverlord opens the dashboard as overlord serves it: with no
// overlord address given, the watcher is the dashboard's own origin.
// (Its frames are same-site then, in the dashboard's process, so this
// checks what the dashboard shows rather than clicking in them.)
func servedByOverlord(d *dashboard) {
	d.t.Helper()
	q := url.Values{}
	for _, name := range []string{"alpha", "beta", "charlie"} {
		q.Set(name, d.sys.URL(name))
	}
	do(d.t, d.ctx, "open the dashboard from overlord",
		chromedp.Navigate(d.sys.URL("overlord")+"/eventually.html?"+q.Encode()+"#4"))
	d.poll(fmt.Sprintf("every service at stage %d", stage.Max), allAtStageJS, stage.Max)
	d.poll("the pages and the watcher to load", `() => {
		const frames = [...document.querySelectorAll("iframe")];
		return frames.length === 4 && frames.every((f) => f.dataset.loaded) ? "yes" : "";
	}`)
	screenshot(d.t, d.ctx, "served-by-overlord")
}

// notReadyShown stops the broker: the header marks every service not
// ready, with the reason on hover, until the broker is back.
func notReadyShown(d *dashboard) {
	d.t.Helper()
	const unready = `(want) => {
		const marked = [...document.querySelectorAll("#stages .svc.unready")];
		return marked.length === want && marked.every((m) => m.title.includes("not ready")) ? "yes" : "";
	}`
	d.sys.StopBroker()
	d.poll("every service marked not ready", unready, 4)
	screenshot(d.t, d.ctx, "not-ready")
	d.sys.StartBroker()
	d.poll("every service ready again", unready, 0)
}

// Tab 1: beta's discount notice appears only once alpha announces changes.
func changeEvents(d *dashboard) {
	d.showTab(1)
	alpha, settings, form := d.page("alpha", "/"), d.page("beta", "/"), d.page("beta", "/transitions")

	d.pressStage("before", 0)
	alpha.tick("#discount-enabled", true)
	form.call("#load-form")
	form.text("#notices", "fee")
	form.absent(".notice.discount", "beta learned of the discount before issue 1 is solved")
	settings.text("#copy-discount", "off")
	settings.text("#settings-version", "1000")
	d.proves("1-change-events-before", nil, alpha.shows("discount-enabled", "settings-version"),
		settings.shows("copy"), form.shows("notices", "snapshot", "load-form", "status"))

	d.pressStage("after", 1)
	v := alpha.retick("#discount-enabled")
	settings.text("#settings-version", v)
	settings.text("#copy-discount", "on")
	form.call("#load-form")
	form.text(".notice.discount", "Your order is discounted!")
	form.text("#snapshot-version", v)
	d.proves("1-change-events", nil, alpha.shows("discount-enabled", "settings-version"),
		settings.shows("copy"), form.shows("notices", "snapshot", "load-form", "status"),
		d.watcher("/").shows("newest-message"))
}

// Tab 2: the discount the form promised holds when alpha turns it off
// before the order arrives.
func transitionEvents(d *dashboard) {
	d.showTab(2)
	alpha, orders, form := d.page("alpha", "/"), d.page("alpha", "/transitions"), d.page("beta", "/transitions")

	for _, c := range []struct {
		button, discount, pricedFrom string
		stage                        int
	}{
		{"before", "$0.00", "current settings", 1},
		{"after", "$10.00", "snapshot", 2},
	} {
		d.pressStage(c.button, c.stage)
		alpha.tick("#discount-enabled", true)
		d.betaFollows(alpha.version())
		form.call("#load-form")
		form.text(".notice.discount", "Your order is discounted!")
		alpha.tick("#discount-enabled", false)
		_, order := submit(form, orders)
		row := orderRow(order)
		orders.text(row, c.pricedFrom)
		if got := orders.text(row+" td.discount", "$"); got != c.discount {
			d.t.Fatalf("stage %d: the order's discount is %s, want %s", c.stage, got, c.discount)
		}
		if c.button == "before" {
			d.proves("2-transition-events-before", nil, alpha.shows("discount-enabled"),
				orders.shows("pending-order", "newest-order"), form.shows("notices", "submit-cart", "status"))
		}
		approve(orders, order)
		form.call("#reset-cart")
		form.text("#cart-status", "open")
	}
	d.proves("2-transition-events", nil, alpha.shows("discount-enabled"),
		orders.shows("newest-order"), form.shows("load-form", "submit-cart", "status"))
}

// Tab 3: charlie's ledger reconciles each charge with the fee setting of
// its version once charlie keeps every version and the approval carries
// the fee; the charges from before can never be reconciled, until a
// reset to the seed.
func changeAndTransition(d *dashboard) {
	d.showTab(3)
	alpha, orders, form, fee, ledger := tab3Pages(d)

	d.pressStage("before", 2)
	alpha.retick("#fee-enabled")
	form.call("#load-form")
	_, order := submit(form, orders)
	approve(orders, order)
	ledger.text(chargeRow(order)+" td.fee", "unknown")
	ledger.text("#ledger-status", "cannot balance")
	fee.text("#settings-version", "1000") // charlie's copy is still the seed
	d.proves("3-change-and-transition-before", nil, alpha.shows("fee-enabled", "settings-version"),
		orders.shows("newest-order"), form.shows("locked", "submit-cart", "status"),
		fee.shows("copy"), ledger.shows("ledger-status", "ledger-unknown", "fees-collected", "newest-charge"))
	form.call("#reset-cart")
	form.text("#cart-status", "open")

	d.pressStage("after", 3)
	collected := ledger.text("#fees-collected", "$")
	v := alpha.retick("#fee-enabled")
	fee.text("#settings-version", v)
	fee.text("#copy-fee", "on")
	form.call("#load-form")
	form.text("#snapshot-version", v)
	_, order = submit(form, orders)
	approve(orders, order)
	ledger.text(chargeRow(order)+" td.fee", "$25.00")
	ledger.text(chargeRow(order), "v"+v)
	ledger.changed("#fees-collected", collected)
	// The new charge's version balances; the charges from before the fix
	// never learn their fee, and the ledger says it cannot balance.
	ledger.text(fmt.Sprintf(`#reconciliation tr[data-version=%q]`, v), "balances")
	ledger.text("#ledger-status", "cannot balance")
	ledger.text("#ledger-unknown", "can never be reconciled")
	form.call("#reset-cart")
	d.proves("3-change-and-transition", nil, alpha.shows("fee-enabled", "settings-version"),
		orders.shows("newest-order"), form.shows("submit-cart", "status"), fee.shows("copy"),
		ledger.shows("ledger-status", "reconciliation", "ledger-unknown", "fees-collected", "newest-charge"))

	// Reset to the seed: every page starts again from it; one more order
	// and the whole ledger balances.
	d.resetAll()
	alpha, orders, form, fee, ledger = tab3Pages(d)
	alpha.text("#settings-version", "1000")
	fee.text("#settings-version", "1000")
	form.text("#cart-status", "open")
	orders.absent("#order-table tr[data-order]", "alpha kept its orders through a reset")
	ledger.absent("#charge-table tr[data-order]", "charlie kept its charges through a reset")
	d.watcher("/").text("#message-table", "No message yet")
	_, order = submit(form, orders)
	approve(orders, order)
	ledger.text(chargeRow(order)+" td.fee", "$25.00")
	ledger.text(`#reconciliation tr[data-version="1000"]`, "balances")
	ledger.text("#ledger-status", "Ledger balances")
	ledger.absent("#ledger-unknown", "a charge after the reset cannot be reconciled")
	form.call("#reset-cart")
	d.proves("3-change-and-transition-reset", []string{"#reset-all"}, alpha.shows("fee-enabled", "settings-version"),
		fee.shows("copy"), ledger.shows("ledger-status", "reconciliation", "fees-collected", "newest-charge"))
}

// tab3Pages are the pages of tab 3, as they are now.
func tab3Pages(d *dashboard) (alpha, orders, form, fee, ledger *page) {
	return d.page("alpha", "/"), d.page("alpha", "/transitions"), d.page("beta", "/transitions"),
		d.page("charlie", "/"), d.page("charlie", "/transitions")
}

// resetAll clicks reset to seed and waits until the tab's pages have
// loaded again.
func (d *dashboard) resetAll() {
	d.t.Helper()
	do(d.t, d.ctx, "click reset to seed", chromedp.Click(chromedp.CSS("#reset-all")))
	d.poll("the reset to end", `() => document.getElementById("stage-message").textContent.includes("back at the seed") ? "yes" : ""`)
	d.poll("the pages to load again", `() => {
		const frames = [...document.querySelectorAll("iframe")];
		return frames.length > 0 && frames.every((f) => f.dataset.loaded) ? "loaded" : "";
	}`)
}

// Tab 4: nothing reopens the cart; then the first design reopens it on
// order.charged, which is wrong once alpha holds charged orders for
// review; the fix reopens it on order.finalized, after the review.
func sharedLifecycle(d *dashboard) {
	d.showTab(4)
	orders, form, charges := d.page("alpha", "/transitions"), d.page("beta", "/transitions"), d.page("charlie", "/transitions")

	d.pressStage("before", 3)
	_, order := submit(form, orders)
	approve(orders, order)
	charges.text(chargeRow(order), order)
	orders.text(orderRow(order)+" td.status", "approved")
	form.text("#cart-status", "locked")
	form.text("#reset-cart", "Reset cart")
	d.proves("4-shared-lifecycle-events-before", nil,
		form.shows("locked", "submit-cart", "status"), orders.shows("newest-order"), charges.shows("newest-charge"))
	form.call("#reset-cart")
	form.text("#cart-status", "open")

	// The first design: the cart reopens once the order is charged...
	d.pressStage("first", 4)
	_, order = submit(form, orders)
	approve(orders, order)
	orders.text(orderRow(order)+" td.status", "finalized")
	form.text("#reopened-by", "order.charged of "+order)
	// ...and once a step follows the charge, it reopens too early.
	orders.tick("#hold-for-review", true)
	_, order = submit(form, orders)
	approve(orders, order)
	orders.text(orderRow(order)+" td.status", "in review")
	form.text("#cart-status", "open")
	form.text("#reopened-by", "order.charged of "+order)
	d.proves("4-shared-lifecycle-events-first-design", nil,
		form.shows("reopened", "submit-cart", "status"), orders.shows("review-switch", "review-order", "newest-order"),
		charges.shows("newest-charge"))
	finishReview(d, orders, order)

	// The fix: the cart reopens when alpha says the order is done.
	d.pressStage("after", 4)
	_, order = submit(form, orders)
	approve(orders, order)
	orders.text(orderRow(order)+" td.status", "in review")
	form.text("#reopen-on", "order.finalized")
	form.text("#cart-status", "locked")
	form.absent("#reset-cart", "the cart needs a manual reset after issue 4 is solved")
	d.proves("4-shared-lifecycle-events-review", nil,
		form.shows("locked", "submit-cart", "status"), orders.shows("review-switch", "review-order", "newest-order"),
		charges.shows("newest-charge"))
	finishReview(d, orders, order)
	form.text("#cart-status", "open")
	form.text("#reopened-by", "order.finalized of "+order)
	orders.tick("#hold-for-review", false)
	d.proves("4-shared-lifecycle-events", nil,
		form.shows("reopened", "submit-cart", "status"), orders.shows("review-switch", "newest-order"),
		charges.shows("newest-charge"), d.watcher("/").shows("newest-message"))
}

// finishReview clicks Finish review of an order in alpha and waits until
// beta has handled the order.finalized it causes, so no late one reaches
// the next cart.
func finishReview(d *dashboard, orders *page, order string) {
	d.t.Helper()
	handled := d.sys.Processed("beta", "beta on order.finalized")
	orders.call(fmt.Sprintf(`button.finish-review[data-order=%q]`, order))
	orders.text(orderRow(order)+" td.status", "finalized")
	st.Eventually(d.t, wait, "beta to handle order.finalized of "+order, func() bool {
		return d.sys.Processed("beta", "beta on order.finalized") > handled
	})
}

// Tab 5: the watcher follows one request ID across every service.
func requestIDs(d *dashboard) {
	d.showTab(5)
	orders, form := d.page("alpha", "/transitions"), d.page("beta", "/transitions")
	alpha := orders // the switches are on alpha's orders page

	d.pressStage("before", 4)
	alpha.tick("#auto-approve", true)
	submitFinalized(form, orders)
	watcher := followLatest(d)
	watcher.text("#steps", "order.captured")
	watcher.text("#timeline h2", "· 1 message · request ")
	watcher.text(`header nav a[href="/"]`, "messages")
	watcher.text(`header nav a[href="/transitions"]`, "orders")
	watcher.absent(`li.step[data-event="order.approved"]`, "alpha's approval carries the request ID before issue 5 is solved")
	d.proves("5-request-ids-before", watchControls, alpha.shows("auto-approve"),
		form.shows("submit-cart", "status"), watcher.shows("subject", "step"))

	d.pressStage("after", 5)
	id := submitFinalized(form, orders)
	watcher = followLatest(d)
	if got := run(d.t, d.ctx, "read the request ID", chromedp.Value(chromedp.CSS("#request-id"))); got != id {
		d.t.Fatalf("the watcher follows request %q, want beta's %q", got, id)
	}
	watcher.text("h2 code", id)
	steps := watcher.text("#steps", "order.finalized")
	for _, want := range []string{
		"beta produced order.captured", "alpha produced order.approved",
		"charlie produced order.charged", "alpha produced order.finalized",
	} {
		if !strings.Contains(steps, want) {
			d.t.Errorf("the request view lacks %q: %s", want, steps)
		}
	}
	d.proves("5-request-ids", watchControls, alpha.shows("auto-approve"),
		form.shows("submit-cart", "status"), watcher.shows("subject", "step"))

	// A console command makes up its own request ID, and prints it.
	var out strings.Builder
	cli, err := console.Settings(d.ctx, d.sys.URL("alpha"), d.sys.URL("overlord"), []string{"--fee-enabled=false"}, &out)
	if err != nil {
		d.t.Fatalf("eventually settings: %v\n%s", err, out.String())
	}
	st.Eventually(d.t, wait, "overlord to record "+cli, func() bool {
		return st.Call(d.t, "GET", d.sys.URL("overlord")+"/api/requests/"+cli, nil).Status == 200
	})
	watcher = followLatestMessage(d)
	watcher.text("h2 code", cli)
	watcher.text("#steps", "alpha produced settings.changed")
	d.proves("5-request-ids-console", watchControls, watcher.shows("subject", "step"))

	// A background job makes up its own request ID: alpha's review timer
	// (its timeout shortened here; the presenter waits the minute).
	orders.tick("#hold-for-review", true)
	st.Must(d.t, st.Call(d.t, "PUT", d.sys.URL("alpha")+"/api/review",
		map[string]any{"enabled": true, "pass_after_seconds": 1}), 200)
	submitFinalized(form, orders)
	watcher = followLatestMessage(d)
	watcher.text("h2 code", "review-timer-")
	watcher.text("#steps", "alpha produced order.finalized")
	d.proves("5-request-ids-job", watchControls, orders.shows("review-switch", "newest-order"),
		form.shows("submit-cart", "status"), watcher.shows("subject", "step"))
	orders.tick("#hold-for-review", false)
}

// watchControls are what the presenter uses under the services on tab 5.
var watchControls = []string{"#request-id", "#follow-latest", "#follow-message"}

func orderRow(order string) string  { return fmt.Sprintf(`#order-table tr[data-order=%q]`, order) }
func chargeRow(order string) string { return fmt.Sprintf(`#charge-table tr[data-order=%q]`, order) }

// newestOrderJS finds the order at the top of alpha's table when it is
// not the one given ("" takes any; "none" when there is no order).
const newestOrderJS = `(before = "") => {
	const row = document.querySelector("#order-table tr[data-order]");
	const order = row ? row.dataset.order : "none";
	return order !== before ? order : "";
}`

// submit clicks Submit order in beta and returns the request ID of the
// submit and the order alpha made of it.
func submit(form, orders *page) (id, order string) {
	form.d.t.Helper()
	before := orders.poll("the newest order", newestOrderJS, "")
	id = form.call("#submit-cart")
	return id, orders.poll("a new order", newestOrderJS, before)
}

// approve clicks the order's Approve button in alpha.
func approve(orders *page, order string) {
	orders.d.t.Helper()
	orders.call(fmt.Sprintf(`button.approve[data-order=%q]`, order))
	orders.changed(orderRow(order)+" td.status", "pending")
}

// submitFinalized submits with auto-approve on and waits until the order
// has run its course and overlord has recorded it; it returns the request
// ID of the submit and the order.
func submitFinalized(form, orders *page) string {
	d := form.d
	d.t.Helper()
	id, order := submit(form, orders)
	orders.text(orderRow(order)+" td.status", "finalized")
	form.text("#cart-status", "open")
	st.Eventually(d.t, wait, "overlord to record "+order+" finalized", func() bool {
		r := st.Call(d.t, "GET", d.sys.URL("overlord")+"/api/orders/"+order, nil)
		return r.Status == 200 && strings.Contains(string(r.Body), "order.finalized")
	})
	return id
}

// followLatest clicks Follow latest order under the services and returns
// the watcher's request view.
func followLatest(d *dashboard) *page { return follow(d, "#follow-latest") }

// followLatestMessage clicks Follow latest message.
func followLatestMessage(d *dashboard) *page { return follow(d, "#follow-message") }

func follow(d *dashboard, button string) *page {
	d.t.Helper()
	before := run(d.t, d.ctx, "read the request ID", chromedp.Value(chromedp.CSS("#request-id")))
	do(d.t, d.ctx, "click "+button, chromedp.Click(chromedp.CSS(button)))
	id := d.poll("the request ID of the latest order", `(before) => {
		const id = document.getElementById("request-id").value;
		return id !== before ? id : "";
	}`, before)
	return d.watcher("/requests/" + url.PathEscape(id))
}
