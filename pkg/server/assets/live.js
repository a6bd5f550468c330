// Live pages: wait for a change on the server, then fetch this page again
// and swap in every element marked data-live. Form inputs outside those
// elements keep what the user typed.
(function () {
  let version = 0;
  async function refresh() {
    const res = await fetch(location.href, { headers: { "X-Live": "1" } });
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    document.querySelectorAll("[data-live]").forEach((el) => {
      const fresh = doc.getElementById(el.id);
      if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
    });
    document.dispatchEvent(new Event("live:refreshed"));
  }
  async function loop() {
    for (;;) {
      try {
        const res = await fetch("/api/changes?since=" + version);
        const body = await res.json();
        if (version !== 0 && body.version !== version) await refresh();
        version = body.version;
      } catch (e) {
        await new Promise((r) => setTimeout(r, 1000)); // the service restarts
      }
    }
  }
  window.eventually = {
    // call sends a JSON request and shows the answer in #status.
    async call(method, url, body) {
      const opts = { method, headers: {} };
      if (body !== undefined) {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
      const res = await fetch(url, opts);
      const text = await res.text();
      const status = document.getElementById("status");
      let shown = text;
      try { const j = JSON.parse(text); shown = j.error ? "Error: " + j.error : "OK"; } catch (e) {}
      if (status) {
        status.textContent = shown + "  (request " + res.headers.get("X-Request-ID") + ")";
        status.className = res.ok ? "ok" : "err";
        // Grey it after a while, so an old answer is not taken for a new
        // one; its request ID stays readable for the talk.
        clearTimeout(status.timer);
        status.timer = setTimeout(() => { status.className += " stale"; }, 15000);
      }
      await refresh();
      return res;
    },
    refresh,
  };
  // In the dashboard's frames, pass the presenter's keys (1–6 switch
  // tabs, n hides the notes) on to the dashboard, so they work after a
  // click in a page too. Typing in a field stays in the field.
  if (window.top !== window.self) {
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
      window.top.postMessage({ eventuallyKey: e.key }, "*");
    });
  }
  loop();
})();
