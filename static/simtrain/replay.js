/* simtrain replay: play, pause, scrub and jump through a session's log.
 *
 * The page works without this file (a GET form and marker links). Here:
 *  - play/pause at 1×, 4× or 16×: T advances 4 times a second and the screen at T is
 *    fetched from the frame endpoint with htmx (one request at a time: a tick that
 *    finds one in flight only moves T, the next tick fetches the newest T);
 *  - the scrubber (input type=range, ms) fetches while dragged, a little debounced;
 *  - markers, "previous/next marker" and ±1 min jump; a marker seeks to its seq;
 *  - while the perspective stays the same, the request says which region versions the
 *    page holds (`have`), and the server sends back only the regions that changed,
 *    as out-of-band swaps;
 *  - the URL follows (history.replaceState), so a reload or a shared link lands on the
 *    same moment.
 * No inline script, no eval (strict CSP).
 */
(function () {
  "use strict";

  var root, range, output, select, playButton, frameUrl, endMs;
  var t = 0, seq = null, speed = 1, timer = null, busy = false, pending = false;
  var TICK_MS = 250;

  var formatClock = window.simtrainClock.format;  // static/simtrain/clock.js

  function currentView() {
    var frame = root.querySelector(".replay-frame");
    return frame ? frame.dataset.as : "";
  }

  function haveVersions() {
    var parts = [];
    root.querySelectorAll(".replay-region[data-region]").forEach(function (el) {
      parts.push(el.dataset.region + ":" + el.dataset.version);
    });
    return parts.join(",");
  }

  function showTime() {
    range.value = String(Math.round(t));
    range.setAttribute("aria-valuetext", formatClock(t));
    output.textContent = formatClock(t);
  }

  function pageQuery() {
    var params = new URLSearchParams();
    params.set("as", select.value);
    params.set("t", String(Math.round(t)));
    if (seq !== null) params.set("seq", String(seq));
    return params;
  }

  function fetchFrame(quiet) {
    if (busy) { pending = true; return; }
    busy = true;
    pending = false;
    var params = pageQuery();
    var sameView = currentView() === select.value;
    if (sameView) params.set("have", haveVersions());
    if (quiet) params.set("quiet", "1");
    window.history.replaceState(null, "", "?" + pageQuery().toString());
    htmx.ajax("GET", frameUrl + "?" + params.toString(), {
      target: "#replay-frame",
      swap: sameView ? "none" : "innerHTML",
    }).then(done, done);
  }

  function done() {
    busy = false;
    var status = document.getElementById("replay-status");
    if (status && status.dataset.seq) root.dataset.seq = status.dataset.seq;
    if (pending) fetchFrame(timer !== null);
  }

  function seek(ms, exactSeq) {
    t = Math.max(0, Math.min(endMs, ms));
    seq = exactSeq === undefined ? null : exactSeq;
    showTime();
    fetchFrame(timer !== null);
  }

  // --- play / pause ----------------------------------------------------------------------
  function setPlaying(on) {
    if (on && timer === null) {
      if (t >= endMs) t = 0;
      timer = window.setInterval(function () {
        t = Math.min(endMs, t + TICK_MS * speed);
        seq = null;
        showTime();
        if (!busy) fetchFrame(true);
        if (t >= endMs) setPlaying(false);
      }, TICK_MS);
    } else if (!on && timer !== null) {
      window.clearInterval(timer);
      timer = null;
      fetchFrame(false); // settle on the last moment, announced
    }
    playButton.setAttribute("aria-pressed", on ? "true" : "false");
    playButton.textContent = on ? playButton.dataset.labelPause : playButton.dataset.labelPlay;
  }

  // --- markers ---------------------------------------------------------------------------
  function visibleMarkers() {
    return Array.prototype.filter.call(
      root.querySelectorAll(".replay__marker a[data-t]"),
      function (a) { return !a.closest(".replay__marker").hidden; }
    );
  }

  function jumpMarker(direction) {
    var markers = visibleMarkers();
    var here = Math.round(t), current = seq === null ? Infinity : seq;
    var target = null;
    markers.forEach(function (a) {
      var mt = parseInt(a.dataset.t, 10);
      var ms = a.dataset.seq ? parseInt(a.dataset.seq, 10) : null;
      var after = mt > here || (mt === here && ms !== null && current !== Infinity && ms > current);
      var before = mt < here || (mt === here && ms !== null && ms < current);
      if (direction > 0 && after && target === null) target = a;
      if (direction < 0 && before) target = a;
    });
    if (target) {
      seek(parseInt(target.dataset.t, 10),
           target.dataset.seq ? parseInt(target.dataset.seq, 10) : undefined);
      markCurrent(target);
    }
  }

  function markCurrent(link) {
    root.querySelectorAll(".replay__marker a[aria-current]").forEach(function (a) {
      a.removeAttribute("aria-current");
    });
    if (link) link.setAttribute("aria-current", "true");
  }

  function init() {
    root = document.getElementById("replay");
    if (!root || !window.htmx) return;
    range = document.getElementById("replay-t");
    output = document.getElementById("replay-now");
    select = document.getElementById("replay-as");
    playButton = root.querySelector('[data-replay="play"]');
    frameUrl = root.dataset.frameUrl;
    endMs = parseInt(root.dataset.endMs || "0", 10) || 0;
    t = parseInt(root.dataset.t || "0", 10) || 0;

    root.querySelectorAll("[hidden]").forEach(function (el) {
      if (el.matches("[data-replay], [data-speed], [data-step], .replay__filters")) {
        el.hidden = false;
      }
    });
    var go = root.querySelector('[data-replay="go"]');
    if (go) go.hidden = true;

    document.getElementById("replay-form").addEventListener("submit", function (evt) {
      evt.preventDefault();
      seek(parseInt(range.value, 10) || 0);
    });

    var debounce = null;
    range.addEventListener("input", function () {
      t = parseInt(range.value, 10) || 0;
      seq = null;
      output.textContent = formatClock(t);
      range.setAttribute("aria-valuetext", formatClock(t));
      window.clearTimeout(debounce);
      debounce = window.setTimeout(function () { fetchFrame(timer !== null); }, 80);
    });

    select.addEventListener("change", function () { fetchFrame(false); });

    playButton.addEventListener("click", function () { setPlaying(timer === null); });

    root.querySelectorAll("[data-speed]").forEach(function (button) {
      button.addEventListener("click", function () {
        speed = parseFloat(button.dataset.speed) || 1;
        root.querySelectorAll("[data-speed]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
      });
    });

    root.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        seek(t + parseInt(button.dataset.step, 10));
      });
    });
    root.querySelector('[data-replay="prev"]').addEventListener("click", function () { jumpMarker(-1); });
    root.querySelector('[data-replay="next"]').addEventListener("click", function () { jumpMarker(1); });

    root.querySelector(".replay__marker-list").addEventListener("click", function (evt) {
      var link = evt.target.closest("a[data-t]");
      if (!link) return;
      evt.preventDefault();
      setPlaying(false);
      seek(parseInt(link.dataset.t, 10),
           link.dataset.seq ? parseInt(link.dataset.seq, 10) : undefined);
      markCurrent(link);
    });

    root.querySelectorAll("[data-filter]").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", on ? "true" : "false");
        root.querySelectorAll('.replay__marker[data-kind="' + button.dataset.filter + '"]')
          .forEach(function (li) { li.hidden = !on; });
      });
    });

    showTime();
  }

  document.addEventListener("DOMContentLoaded", init);
})();

// "Restart from here" posts the moment the replay shows now (the scrubber moves it).
(function () {
  "use strict";
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-fork")) return;
    var root = document.getElementById("replay");
    var field = form.querySelector("input[name=at_seq]");
    if (root && field && root.dataset.seq) field.value = root.dataset.seq;
    if (!window.confirm(form.getAttribute("data-confirm"))) evt.preventDefault();
  });
})();
