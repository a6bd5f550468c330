package e2e

import (
	"fmt"

	"github.com/chromedp/chromedp"

	st "eventually/internal/systemtest"
)

// Tab 6: the presenter stops charlie from the dashboard and submits an
// order; alpha approves it and the watcher shows it waiting for charlie.
// Started again before the fix, charlie starts where the stream is and
// never charges it; after the fix it charges it and the cart reopens.
func serviceDown(d *dashboard) {
	d.showTab(6)
	d.pressStage("before", 5)
	orders := d.page("alpha", "/transitions")
	orders.tick("#auto-approve", true)
	missed := d.orderWhileCharlieIsDown("6-service-down-before")
	// Its consumer now starts at the end of the stream: once it has
	// nothing pending, the approval made while it was down can never
	// reach it.
	st.Eventually(d.t, wait, "charlie to have nothing pending", func() bool { return d.sys.Settled("charlie") })
	charges := d.page("charlie", "/transitions")
	charges.absent(chargeRow(missed), "an order approved while charlie was down is charged before the fix")
	d.page("beta", "/transitions").text("#cart-status", "locked")
	d.proves("6-service-down-before-started", nil, charges.shows("fees-collected"), d.watcher("/waiting").shows("waiting"))
	d.resetAll()

	d.pressStage("after", 6)
	d.page("alpha", "/transitions").tick("#auto-approve", true)
	order := d.orderWhileCharlieIsDown("6-service-down-stopped")
	charges = d.page("charlie", "/transitions")
	charges.text(chargeRow(order), order)
	form := d.page("beta", "/transitions")
	form.text("#cart-status", "open")
	d.watcherShowsWaiting("charlie", 0)
	d.proves("6-service-down", nil, charges.shows("newest-charge"), form.shows("reopened", "submit-cart"),
		d.watcher("/waiting").shows("waiting"))
}

// orderWhileCharlieIsDown stops charlie with the dashboard's button,
// submits the cart in beta and waits until alpha has approved the order
// and the watcher shows it waiting for charlie; it proves that in view
// as name, starts charlie again with the button and returns the order.
func (d *dashboard) orderWhileCharlieIsDown(name string) string {
	d.t.Helper()
	d.toggleCharlie("Stop charlie", "charlie is stopped")
	form, orders := d.page("beta", "/transitions"), d.page("alpha", "/transitions")
	_, order := submit(form, orders)
	orders.text(orderRow(order)+" td.status", "approved")
	d.watcherShowsWaiting("charlie", 1)
	d.proves(name, []string{"#process-toggle", ".down-note"}, orders.shows("auto-approve", "newest-order"),
		form.shows("submit-cart", "status"), d.watcher("/waiting").shows("waiting"))
	d.toggleCharlie("Start charlie", "charlie runs")
	d.sys.WaitReady("charlie")
	return order
}

// toggleCharlie clicks the button above charlie's page, which must say
// label, and waits until the bar says state (and the note over the page
// shows only while charlie is stopped).
func (d *dashboard) toggleCharlie(label, state string) {
	d.t.Helper()
	d.poll("the button to say "+label, `(label) => {
		const b = document.getElementById("process-toggle");
		return b && !b.disabled && b.textContent === label ? "yes" : "";
	}`, label)
	do(d.t, d.ctx, "click "+label, chromedp.Click(chromedp.CSS("#process-toggle")))
	d.poll("the bar to say "+state, `(state) => {
		const stopped = state.endsWith("stopped");
		const notes = [...document.querySelectorAll(".down-note")];
		return document.getElementById("process-state").textContent === state &&
			notes.length > 0 && notes.every((n) => n.hidden === !stopped) ? "yes" : "";
	}`, state)
}

// watcherShowsWaiting waits until overlord's page under the services
// shows n messages waiting for the service.
func (d *dashboard) watcherShowsWaiting(service string, n int) {
	d.t.Helper()
	d.watcher("/waiting").poll(fmt.Sprintf("%d waiting for %s", n, service), `(service, n) => {
		const row = document.querySelector('#waiting-table tr[data-service="' + service + '"]');
		return row && row.dataset.waiting === String(n) ? "yes" : "";
	}`, service, n)
}
