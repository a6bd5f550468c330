package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"eventually/internal/poll"
)

// size is a browser viewport the dashboard must read well at.
type size struct{ w, h int64 }

func (s size) String() string { return fmt.Sprintf("%dx%d", s.w, s.h) }

// sizes are a projector's (the first: the walkthrough runs at it) and a
// full-HD screen's.
var sizes = []size{{viewportWidth, viewportHeight}, {1920, 1080}}

// settle bounds the wait for a resized dashboard and its frames to lay
// themselves out again.
const settle = 5 * time.Second

// proof is what one framed page must show without scrolling: the
// elements marked data-proof="<name>" in its template.
type proof struct {
	page  *page
	names []string
}

// shows lists the page's elements that prove a tab's point.
func (p *page) shows(names ...string) proof { return proof{page: p, names: names} }

// proves checks what the audience sees in the current state of a tab, at
// every size, with the notes shown and hidden: every proof inside the
// visible part of its frame (no frame scrolled, none wider than its
// box), the dashboard's controls in view, and the frames filling the
// screen down to its bottom. It saves a screenshot at each size, the
// projector's as name.png. controls are the dashboard's own elements
// that must be in view besides the stage buttons.
func (d *dashboard) proves(name string, controls []string, proofs ...proof) {
	d.t.Helper()
	projector := sizes[0]
	steps := []struct {
		size  size
		notes bool
	}{
		{projector, true}, {projector, false}, {sizes[1], false}, {sizes[1], true},
	}
	for _, s := range steps {
		d.resize(s.size)
		d.showNotes(s.notes)
		d.inView(fmt.Sprintf("%s at %s, notes %s", name, s.size, map[bool]string{true: "shown", false: "hidden"}[s.notes]),
			s.size, s.notes, controls, proofs)
		if s.size != projector && s.notes {
			screenshot(d.t, d.ctx, name+"-"+s.size.String())
		}
	}
	d.resize(projector)
	screenshot(d.t, d.ctx, name)
}

func (d *dashboard) resize(s size) {
	d.t.Helper()
	do(d.t, d.ctx, "resize to "+s.String(), chromedp.EmulateViewport(s.w, s.h))
}

// showNotes shows or hides the notes by pressing n, as the presenter
// does: the key works wherever the focus is, in a framed page too.
func (d *dashboard) showNotes(shown bool) {
	d.t.Helper()
	const hiddenJS = `() => String(document.body.classList.contains("notes-hidden"))`
	if d.poll("read the notes' state", hiddenJS) == fmt.Sprint(!shown) {
		return
	}
	do(d.t, d.ctx, "press n", chromedp.KeyEvent("n"))
	d.poll(fmt.Sprintf("the notes shown: %v", shown), `(hidden) => {
		return String(document.body.classList.contains("notes-hidden")) === hidden ? "yes" : "";
	}`, fmt.Sprint(!shown))
}

// inView waits until the dashboard and its frames have laid themselves
// out at the size and show everything they must, and fails the test with
// what is out of view when they do not.
func (d *dashboard) inView(what string, s size, notes bool, controls []string, proofs []proof) {
	d.t.Helper()
	controls = append([]string{}, controls...)
	if notes {
		controls = append(controls, "#stage-before", "#stage-after")
	}
	var problems []string
	if poll.Until(settle, 50*time.Millisecond, func() bool {
		problems = d.layoutProblems(s, controls, proofs)
		return len(problems) == 0
	}) {
		return
	}
	name := strings.NewReplacer(" ", "-", ",", "").Replace(what) + "-failed"
	if err := saveScreenshot(d.t, d.ctx, name); err != nil {
		d.t.Log(err)
	}
	d.t.Fatalf("%s:\n  %s", what, strings.Join(problems, "\n  "))
}

// layoutProblems says what is wrong with the dashboard at the size, and
// what each framed page does not show.
func (d *dashboard) layoutProblems(s size, controls []string, proofs []proof) []string {
	d.t.Helper()
	var layout struct {
		Problems []string
		Frames   map[string][2]float64
	}
	raw := evalIn[string](d.t, d.ctx, "the dashboard's layout", layoutJS, s.w, s.h, controls)
	if err := json.Unmarshal([]byte(raw), &layout); err != nil {
		d.t.Fatalf("the dashboard's layout: %v: %s", err, raw)
	}
	problems := layout.Problems
	for _, p := range proofs {
		box, ok := layout.Frames[p.page.name]
		if !ok {
			problems = append(problems, p.page.name+": no such frame on this tab")
			continue
		}
		out := evalIn[[]string](d.t, p.page.ctx, p.page.name+": what it shows", inFrameJS, box[0], box[1], p.names)
		for _, o := range out {
			problems = append(problems, p.page.name+": "+o)
		}
	}
	return problems
}

// evalIn calls a JavaScript function with args in the dashboard or a
// framed page and returns its result.
func evalIn[T any](t *testing.T, ctx context.Context, what, fn string, args ...any) T {
	t.Helper()
	js, err := json.Marshal(append([]any{}, args...))
	if err != nil {
		t.Fatal(err)
	}
	return run(t, ctx, what, chromedp.Evaluate[T](fmt.Sprintf("(%s)(...%s)", fn, js)))
}

// layoutJS checks the dashboard at a size: nothing scrolls, the controls
// and every frame are in the viewport, the services' columns reach down
// to the watcher and the watcher to the bottom (no blank band, whether
// the notes are shown or not). It returns the problems and each frame's
// size before scaling, which is the viewport of the page inside it.
const layoutJS = `(width, height, controls) => {
	const problems = [];
	const px = (r) => Math.round(r.left) + "," + Math.round(r.top) + " to " + Math.round(r.right) + "," + Math.round(r.bottom);
	const inView = (what, r) => {
		if (r.height < 1 || r.top < 0 || r.left < 0 || r.bottom > innerHeight + .5 || r.right > innerWidth + .5) {
			problems.push(what + " is out of the " + innerWidth + "x" + innerHeight + " viewport: " + px(r));
		}
	};
	if (innerWidth !== width || innerHeight !== height) problems.push("the viewport is " + innerWidth + "x" + innerHeight);
	const root = document.documentElement;
	if (root.scrollHeight > innerHeight || root.scrollWidth > innerWidth) {
		problems.push("the dashboard scrolls: " + root.scrollWidth + "x" + root.scrollHeight);
	}
	for (const sel of controls) {
		const el = document.querySelector(sel);
		if (el) inView(sel, el.getBoundingClientRect()); else problems.push(sel + " is missing");
	}
	const services = document.getElementById("services").getBoundingClientRect();
	const watcher = document.querySelector("#watcher .page").getBoundingClientRect();
	if (innerHeight - watcher.bottom > 10) {
		problems.push("a blank band of " + Math.round(innerHeight - watcher.bottom) + " px under the watcher");
	}
	for (const col of document.querySelectorAll("#services .column")) {
		const last = col.lastElementChild.getBoundingClientRect();
		if (services.bottom - last.bottom > 10) {
			problems.push("a blank band of " + Math.round(services.bottom - last.bottom) + " px under a column of frames");
		}
	}
	const frames = {};
	for (const f of document.querySelectorAll("iframe")) {
		const name = (f.dataset.service || "overlord") + f.dataset.path;
		inView("the frame of " + name, f.parentElement.getBoundingClientRect());
		frames[name] = [f.offsetWidth, f.offsetHeight];
	}
	return JSON.stringify({problems, frames});
}`

// inFrameJS checks a framed page: laid out at its frame's size, not
// scrolled, not wider than the frame, and each proof's elements inside
// the visible part of the frame.
const inFrameJS = `(width, height, names) => {
	if (Math.abs(innerWidth - width) > 1 || Math.abs(innerHeight - height) > 1) {
		return ["laid out at " + innerWidth + "x" + innerHeight + ", its frame is " + width + "x" + height];
	}
	const problems = [];
	if (scrollX || scrollY) problems.push("scrolled to " + scrollX + "," + scrollY);
	const root = document.documentElement;
	const w = root.clientWidth, h = root.clientHeight;
	if (root.scrollWidth > w) problems.push(root.scrollWidth - w + " px wider than its frame");
	for (const name of names) {
		const els = document.querySelectorAll('[data-proof~="' + name + '"]');
		if (!els.length) problems.push(name + " is not on the page");
		for (const el of els) {
			const r = el.getBoundingClientRect();
			if (r.top < 0 || r.left < 0 || r.bottom > h + .5 || r.right > w + .5) {
				problems.push(name + " (" + el.textContent.replace(/\s+/g, " ").trim().slice(0, 40) + ") ends at " +
					Math.round(r.right) + "," + Math.round(r.bottom) + ", the frame shows " + w + "x" + h);
			}
		}
	}
	return problems;
}`
