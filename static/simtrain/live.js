/* simtrain live client: resume by seq, drop duplicates, reconnect, run the clock.
 *
 * The server sends frames "<!--seq:N-->" + htmx out-of-band fragments (docs/protocol.md).
 * htmx's ws extension swaps them; this file sits in front of it:
 *  - every (re)connect asks for the events after the last seq this page holds, so a
 *    page catches up after a drop without reloading;
 *  - a frame whose seq the page already holds is dropped before htmx swaps it;
 *  - reconnects use a short exponential backoff with jitter (at most 10 s), never
 *    retry a 4xxx refusal, and happen at once when the network comes back;
 *  - a heartbeat notices a dead connection that the browser has not noticed;
 *  - what the user typed, ticked or opened inside a region survives a pushed update
 *    of that region (same ids), and so does the focus.
 * No inline script anywhere (strict CSP).
 */
(function () {
  "use strict";

  var live = null;
  var lastSeq = 0;
  var retry = 0;
  var socket = null; // the current WebSocket (older ones may still report closing)
  var wrapper = null; // the ws extension's public interface (send, reconnect)
  var reconnectTimer = null;
  var lastMessageAt = 0;
  var serverSkew = 0; // browser clock minus server clock, measured at page load
  var SEQ = /^<!--seq:(\d+)-->/;
  var HEARTBEAT_MS = 15000;
  var DEAD_AFTER_MS = 40000;
  var MAX_DELAY_MS = 10000;

  // Marks the page load: tests check it is still there after a catch-up (no reload).
  window.simtrainLoadedAt = Date.now();

  function label(box, state) {
    var el = box.querySelector(".connection__label");
    var key = "label" + state.charAt(0).toUpperCase() + state.slice(1);
    if (el && el.dataset[key]) el.textContent = el.dataset[key];
  }

  function setState(state) {
    document.documentElement.dataset.connection = state;
    var boxes = document.querySelectorAll(".connection");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].dataset.state = state;
      label(boxes[i], state);
    }
  }

  function backoff(count) {
    // Exponential with full jitter, but never below 250 ms nor above 10 s.
    var max = Math.min(MAX_DELAY_MS, 500 * Math.pow(2, Math.min(count, 6)));
    return 250 + Math.random() * max;
  }

  function withAfter(url) {
    var u = new URL(url, window.location.href);
    u.searchParams.set("after", String(lastSeq));
    return u.toString();
  }

  if (window.htmx) {
    htmx.config.wsReconnectDelay = backoff;
    htmx.createWebSocket = function (url) {
      socket = new WebSocket(withAfter(url));
      return socket;
    };
  }

  function reconnectNow() {
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!wrapper) return;
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
    wrapper.reconnect();
  }

  function reconnectLater() {
    if (reconnectTimer) return;
    reconnectTimer = window.setTimeout(function () {
      reconnectTimer = null;
      reconnectNow();
    }, backoff(retry++));
  }

  document.addEventListener("htmx:wsConnecting", function () {
    setState(navigator.onLine === false ? "offline" : "connecting");
  });
  document.addEventListener("htmx:wsOpen", function (evt) {
    retry = 0;
    wrapper = evt.detail.socketWrapper;
    lastMessageAt = Date.now();
    setState("open");
  });

  document.addEventListener("htmx:wsClose", function (evt) {
    var event = evt.detail && evt.detail.event;
    if (evt.detail && evt.detail.socketWrapper) wrapper = evt.detail.socketWrapper;
    // A socket we replaced ourselves reports its close late: not news.
    if (event && event.target && socket && event.target !== socket) return;
    var code = event ? event.code : 1006;
    if (code >= 4000 && code < 5000) {
      setState("refused");
      return;
    }
    setState(navigator.onLine === false ? "offline" : "closed");
    // The extension retries 1006/1011/1012/1013 itself (with our backoff); a server
    // shutting down sends 1001, and our own heartbeat closes with 4000-free codes.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) reconnectLater();
  });

  window.addEventListener("offline", function () {
    setState("offline");
    // Some browsers keep a socket "open" while offline: close it, catch up later.
    if (socket && socket.readyState === WebSocket.OPEN) socket.close();
  });
  window.addEventListener("online", function () {
    retry = 0;
    setState("connecting");
    reconnectNow();
  });

  // Heartbeat: a ping every 15 s; no frame at all for 40 s means the link is dead.
  window.setInterval(function () {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastMessageAt > DEAD_AFTER_MS) {
      socket.close();
      return;
    }
    try { socket.send(JSON.stringify({ cmd: "ping" })); } catch (e) { /* closing */ }
  }, HEARTBEAT_MS);

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    lastMessageAt = Date.now();
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
    document.dispatchEvent(new CustomEvent("simtrain:updated"));
  });

  // --- keep what the user was doing across a pushed region update -----------------------

  var focus = null;
  var reopen = [];  // ids of lists shown whole before a pushed update

  function sameId(root, id) {
    if (!id) return null;
    if (root.id === id) return root;
    return root.querySelector ? root.querySelector("#" + CSS.escape(id)) : null;
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var old = evt.detail.target;
    var fragment = evt.detail.fragment;
    if (!old || !fragment || !old.querySelectorAll) return;
    var i, el, twin;
    // A <details> the user opened or closed stays so; the others follow the server.
    var opened = old.querySelectorAll("details[id][data-user-toggled]");
    for (i = 0; i < opened.length; i++) {
      twin = sameId(fragment, opened[i].id);
      if (twin && twin.tagName === "DETAILS") {
        if (opened[i].open) twin.setAttribute("open", "");
        else twin.removeAttribute("open");
        twin.setAttribute("data-user-toggled", "");
      }
    }
    var controls = old.querySelectorAll("input[id], textarea[id], select[id]");
    for (i = 0; i < controls.length; i++) {
      el = controls[i];
      twin = sameId(fragment, el.id);
      if (!twin || el.type === "hidden") continue;
      if (el.type === "checkbox" || el.type === "radio") twin.checked = el.checked;
      else if (el.tagName === "SELECT") { if (el.value) twin.value = el.value; }
      else if (el.value) twin.value = el.value;
    }
    // A list the user had shown whole ("show all") comes back capped: reload it after.
    var full = old.querySelectorAll("ol[data-full][id]");
    for (i = 0; i < full.length; i++) reopen.push(full[i].id);
    var active = document.activeElement;
    if (active && active.id && old.contains(active)) {
      focus = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
    }
  });

  // A message or note delta trims a capped list (sessions/render.py: the entry past the
  // cap goes, the "show all" link comes); a list the user shows whole keeps everything.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail.fragment;
    var target = evt.detail.target;
    if (fragment && fragment.hasAttribute && fragment.hasAttribute("data-trim") &&
        target && target.closest && target.closest("ol[data-full]")) {
      evt.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    var ids = reopen;
    reopen = [];
    ids.forEach(function (id) {
      var list = document.getElementById(id);
      var link = list && list.querySelector(".show-all__link");
      if (link && window.htmx) {
        htmx.ajax("GET", link.getAttribute("href") + "&refresh=1",
                  { target: "#" + CSS.escape(id), swap: "outerHTML" });
      }
    });
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!focus) return;
    var el = document.getElementById(focus.id);
    var wanted = focus;
    focus = null;
    if (!el) return;
    el.focus({ preventScroll: true });
    if (wanted.start != null && el.setSelectionRange) {
      try { el.setSelectionRange(wanted.start, wanted.end); } catch (e) { /* not text */ }
    }
  });

  document.addEventListener("click", function (evt) {
    var summary = evt.target.closest ? evt.target.closest("summary") : null;
    if (summary && summary.parentElement && summary.parentElement.tagName === "DETAILS") {
      summary.parentElement.setAttribute("data-user-toggled", "");
    }
  });
  document.addEventListener("keydown", function (evt) {
    if ((evt.key === "Enter" || evt.key === " ") && evt.target.tagName === "SUMMARY") {
      evt.target.parentElement.setAttribute("data-user-toggled", "");
    }
  });

  // Forms that post over the socket clear their text once sent.
  document.addEventListener("htmx:wsAfterSend", function (evt) {
    var form = evt.target && evt.target.closest ? evt.target.closest("form") : null;
    if (form && form.hasAttribute("data-reset-on-send")) {
      var fields = form.querySelectorAll("textarea, input[type=text]");
      for (var i = 0; i < fields.length; i++) fields[i].value = "";
    }
    var dialog = form && form.hasAttribute("data-close-on-send") ? form.closest("dialog") : null;
    if (dialog && typeof dialog.close === "function") dialog.close();
  });

  // Error toasts fade out by themselves (they are also announced, role=alert).
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var box = evt.detail && evt.detail.target;
    if (!box || box.id !== "toasts") return;
    var toasts = box.querySelectorAll(".toast:not([data-timed])");
    for (var i = 0; i < toasts.length; i++) {
      (function (toast) {
        toast.dataset.timed = "1";
        window.setTimeout(function () { toast.remove(); }, 8000);
      })(toasts[i]);
    }
  });

  // --- the exercise clock, computed locally from the last clock state the server sent ---

  var formatClock = window.simtrainClock.format;  // static/simtrain/clock.js
  var pad = window.simtrainClock.pad;

  function clockNow(el) {
    var base = parseInt(el.dataset.anchorClockMs || "0", 10);
    if (el.dataset.state !== "running" || !el.dataset.anchorAt) return base;
    var speed = parseFloat((el.dataset.speed || "1").replace(",", "."));
    // The anchor is a server time; the browser's clock may differ (serverSkew).
    var elapsed = Date.now() - serverSkew - Date.parse(el.dataset.anchorAt);
    return base + Math.max(0, elapsed * speed);
  }

  function currentPhase(ms, root) {
    var steps = root.querySelectorAll("[data-phase-id]");
    var current = null;
    for (var i = 0; i < steps.length; i++) {
      var start = steps[i].dataset.startMs;
      if (start !== undefined && parseInt(start, 10) <= ms) current = steps[i];
    }
    return { steps: steps, current: current };
  }

  function showPhases(ms, state) {
    var boxes = document.querySelectorAll("[data-phase-now]");
    for (var b = 0; b < boxes.length; b++) {
      var found = currentPhase(ms, boxes[b]);
      var passed = true;
      for (var i = 0; i < found.steps.length; i++) {
        var step = found.steps[i];
        var now = step === found.current;
        if (now) passed = false;
        step.dataset.status = now ? "current" : (passed && found.current ? "done" : "next");
        if (now) step.setAttribute("aria-current", "step");
        else step.removeAttribute("aria-current");
      }
      var title = boxes[b].querySelector("[data-phase-title]");
      var text = found.current ? found.current.dataset.title : "—";
      if (state === "lobby") text = "—";
      if (title && title.textContent !== text) title.textContent = text;
      document.documentElement.dataset.phase = found.current ? found.current.dataset.phaseId : "";
    }
  }

  function countdowns(ms) {
    var els = document.querySelectorAll("[data-countdown-to]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var to = el.dataset.countdownTo;
      // A statutory limit counts story time: each stretch between the story's jumps
      // has its own clock deadline ("clock:deadline,…"); use the stretch we are in.
      var steps = (el.dataset.countdownSteps || "").split(",");
      for (var s = 0; s < steps.length; s++) {
        var step = steps[s].split(":");
        if (step.length === 2 && parseInt(step[0], 10) <= ms) to = step[1];
      }
      var left = parseInt(to, 10) - ms;
      var text;
      if (left <= 0) {
        text = el.dataset.countdownDone || "00:00";
        el.dataset.expired = "1";
      } else {
        text = (el.dataset.countdownPrefix || "") + formatClock(left + 999);
        delete el.dataset.expired;
        el.dataset.urgent = left <= parseInt(el.dataset.urgentMs || "60000", 10) ? "1" : "";
      }
      if (el.textContent !== text) el.textContent = text;
      var row = el.closest("[data-due-ms]");
      if (row && row.dataset.state === "upcoming" && left <= 0) row.dataset.state = "due";
    }
  }

  function agos() {
    var els = document.querySelectorAll("[data-ago]");
    var now = Date.now() - serverSkew;
    for (var i = 0; i < els.length; i++) {
      var since = Date.parse(els[i].dataset.ago);
      if (isNaN(since)) continue;
      var s = Math.max(0, Math.floor((now - since) / 1000));
      var text = s < 60 ? s + " s" : s < 3600 ? Math.floor(s / 60) + " min" : Math.floor(s / 3600) + " h " + pad(Math.floor((s % 3600) / 60));
      if (els[i].textContent !== text) els[i].textContent = text;
      // Gone for less than 30 s is most likely a reconnect, not a departure.
      var row = els[i].closest("[data-presence]");
      if (row && row.dataset.presence === "gone") {
        var reconnecting = s < 30;
        var wanted = reconnecting ? "reconnecting" : "gone";
        if (row.dataset.presenceLive !== wanted) {
          row.dataset.presenceLive = wanted;
          var lbl = row.querySelector("[data-presence-label]");
          if (lbl) lbl.textContent = reconnecting ? lbl.dataset.labelReconnecting : lbl.dataset.labelGone;
        }
      }
    }
  }

  function tick() {
    var el = document.getElementById("clock");
    var ms = 0;
    if (el) {
      ms = clockNow(el);
      var out = el.querySelector("[data-clock]");
      var text = formatClock(ms);
      if (out && out.textContent !== text) out.textContent = text;
      var story = el.querySelector("[data-story]");
      if (story) {
        if (!story._story) story._story = JSON.parse(story.dataset.story);
        var label = story.querySelector("[data-story-label]");
        var said = window.simtrainClock.story(Math.floor(ms), story._story);
        if (label && label.textContent !== said) label.textContent = said;
      }
      document.documentElement.dataset.clockMs = String(Math.floor(ms));
      document.documentElement.dataset.clockState = el.dataset.state || "";
    }
    showPhases(ms, el ? el.dataset.state : "");
    countdowns(ms);
    agos();
  }

  document.addEventListener("DOMContentLoaded", function () {
    live = document.getElementById("live");
    if (live) lastSeq = parseInt(live.dataset.lastSeq || "0", 10) || 0;
    var el = document.getElementById("clock");
    var rendered = el ? Date.parse(el.dataset.renderedAt || "") : NaN;
    // Measured once, on the page the server has just rendered (pushed frames may be
    // rendered earlier and shared, so their render time says nothing about skew).
    if (!isNaN(rendered)) serverSkew = Date.now() - rendered;
    document.documentElement.dataset.liveLoaded = String(window.simtrainLoadedAt);
    tick();
    window.setInterval(tick, 250);
  });

  window.simtrainLive = {
    clockMs: function () { var el = document.getElementById("clock"); return el ? clockNow(el) : 0; },
    lastSeq: function () { return lastSeq; },
    formatClock: formatClock,
  };
})();
