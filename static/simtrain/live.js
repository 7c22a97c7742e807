/* simtrain live client: resume by seq, drop duplicates, show the connection, run the clock.
 *
 * The server sends frames "<!--seq:N-->" + htmx out-of-band fragments (docs/protocol.md).
 * htmx's ws extension swaps them; this file sits in front of it:
 *  - every (re)connect asks for the events after the last seq this page holds;
 *  - a frame whose seq the page already holds is dropped before htmx swaps it;
 *  - the ws extension retries abnormal closes with backoff; we also retry the clean
 *    closes a restarting server sends (1001, 1012), but never a 4xxx refusal.
 * No inline script anywhere (strict CSP).
 */
(function () {
  "use strict";

  var live = null;
  var lastSeq = 0;
  var retry = 0;
  var SEQ = /^<!--seq:(\d+)-->/;

  function setState(state) {
    var box = document.getElementById("connection");
    if (!box) return;
    box.dataset.state = state;
    var label = box.querySelector(".connection__label");
    if (label && label.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)]) {
      label.textContent = label.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)];
    }
    document.documentElement.dataset.connection = state;
  }

  function withAfter(url) {
    var u = new URL(url, window.location.href);
    u.searchParams.set("after", String(lastSeq));
    return u.toString();
  }

  if (window.htmx) {
    htmx.createWebSocket = function (url) {
      return new WebSocket(withAfter(url));
    };
  }

  document.addEventListener("htmx:wsConnecting", function () { setState("connecting"); });
  document.addEventListener("htmx:wsOpen", function () { retry = 0; setState("open"); });

  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail && evt.detail.event ? evt.detail.event.code : 1006;
    if (code >= 4000 && code < 5000) {
      setState("refused");
      return;
    }
    setState("closed");
    // The extension only retries 1006/1011/1012/1013; a server shutting down sends 1001.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0 && evt.detail && evt.detail.socketWrapper) {
      var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * Math.random() + 250;
      window.setTimeout(function () { evt.detail.socketWrapper.reconnect(); }, delay);
    }
  });

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var message = evt.detail.message;
    if (typeof message !== "string") { evt.preventDefault(); return; }
    if (message === "<!--pong-->") { evt.preventDefault(); return; }
    if (message === "<!--reload-->") { evt.preventDefault(); window.location.reload(); return; }
    var match = SEQ.exec(message);
    if (match) {
      var seq = parseInt(match[1], 10);
      if (seq <= lastSeq) { evt.preventDefault(); return; }  // already on screen
      lastSeq = seq;
      if (live) live.dataset.lastSeq = String(seq);
    }
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    var el = document.getElementById("clock");
    if (el && !el.dataset.receivedAt) el.dataset.receivedAt = String(Date.now());
    document.dispatchEvent(new CustomEvent("simtrain:updated"));
  });

  // --- the exercise clock, computed locally from the last clock state the server sent ---
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function formatClock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(sec) : pad(m) + ":" + pad(sec);
  }

  function clockNow(el) {
    var base = parseInt(el.dataset.anchorClockMs || "0", 10);
    if (el.dataset.state !== "running" || !el.dataset.anchorAt) return base;
    var speed = parseFloat(el.dataset.speed || "1");
    // Server and browser clocks differ: measure the skew against the render time.
    var rendered = Date.parse(el.dataset.renderedAt || "");
    var received = parseFloat(el.dataset.receivedAt || "0");
    var skew = isNaN(rendered) || !received ? 0 : received - rendered;
    var elapsed = Date.now() - skew - Date.parse(el.dataset.anchorAt);
    return base + Math.max(0, elapsed * speed);
  }

  function tick() {
    var el = document.getElementById("clock");
    if (el) {
      if (!el.dataset.receivedAt) el.dataset.receivedAt = String(Date.now());
      var ms = clockNow(el);
      var out = el.querySelector("[data-clock]");
      if (out) out.textContent = formatClock(ms);
      document.documentElement.dataset.clockMs = String(Math.floor(ms));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    live = document.getElementById("live");
    if (live) lastSeq = parseInt(live.dataset.lastSeq || "0", 10) || 0;
    tick();
    window.setInterval(tick, 250);
  });
})();
