/* simtrain live screens: what people click and see beyond the pushed regions.
 *
 * - dialogs: [data-dialog-open=ID] opens <dialog id=ID>, [data-dialog-close] closes;
 * - the inbox: opening an item sends `item.open` (unread until opened);
 * - the in-page document viewer (PDF, images, audio, sanitised text);
 * - client-side filters of the timeline and the feed, kept across pushed updates;
 * - keyboard shortcuts (N: trainer note, I: ad-hoc inject);
 * - safety stops: a modal alert dialog that must be acknowledged, and a short beep;
 * - confirmations ([data-confirm] on socket forms); the ad-hoc composer's replies;
 * - the actor's tablet: Wake Lock, a cue that always fits, the unread badge;
 * - the printable pack's print button.
 * No inline script or style anywhere (strict CSP): styles set here go through CSSOM.
 */
(function () {
  "use strict";

  var html = document.documentElement;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function storageKey(name) {
    var live = document.getElementById("live");
    return "simtrain:" + (live ? live.dataset.session : "0") + ":" + name;
  }
  function load(name, fallback) {
    try { var v = window.localStorage.getItem(storageKey(name)); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(name, value) {
    try { window.localStorage.setItem(storageKey(name), JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  // --- dialogs -------------------------------------------------------------------------

  function openDialog(dialog, opener) {
    if (!dialog || dialog.open) return;
    dialog._opener = opener || document.activeElement;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button:not([data-dialog-close])");
    if (first && dialog.id === "composer-dialog") first.focus();
  }

  function closeDialog(dialog) {
    if (!dialog) return;
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
  }

  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog && dialog.tagName === "DIALOG") {
      if (dialog.id === "viewer") resetViewer();
      if (dialog._opener && dialog._opener.isConnected) dialog._opener.focus();
    }
  }, true);

  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest("[data-dialog-open]");
    if (opener) {
      openDialog(document.getElementById(opener.dataset.dialogOpen), opener);
      return;
    }
    var closer = evt.target.closest("[data-dialog-close]");
    if (closer) {
      closeDialog(closer.closest("dialog"));
      return;
    }
    // A click on the backdrop (the dialog itself, outside its content) closes it,
    // except the safety alert, which must be acknowledged.
    if (evt.target.tagName === "DIALOG" && evt.target.getAttribute("role") !== "alertdialog") {
      var box = evt.target.getBoundingClientRect();
      var inside = evt.clientX >= box.left && evt.clientX <= box.right && evt.clientY >= box.top && evt.clientY <= box.bottom;
      if (!inside) closeDialog(evt.target);
    }
    var printer = evt.target.closest("[data-print]");
    if (printer) window.print();
  });

  // --- the inbox: unread until opened -------------------------------------------------------

  function sendOverSocket(formId, values) {
    var form = document.getElementById(formId);
    if (!form) return;
    Object.keys(values).forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      if (input) input.value = values[name];
    });
    if (window.htmx) htmx.trigger(form, "submit");
  }

  var opened = {};
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (!details || details.tagName !== "DETAILS" || !details.open) return;
    var item = details.closest(".inbox-item[data-unread]");
    if (!item) return;
    var seq = item.dataset.seq;
    if (opened[seq]) return;
    opened[seq] = true;
    sendOverSocket("item-open-form", { item: seq });
  }, true);

  // --- the document viewer -------------------------------------------------------------------

  var viewerRequest = 0;

  function resetViewer() {
    var body = $("[data-viewer-body]");
    if (body) body.replaceChildren();
  }

  function showInViewer(button) {
    var dialog = document.getElementById("viewer");
    if (!dialog) return false;
    var body = $("[data-viewer-body]", dialog);
    var type = button.dataset.viewerType || "";
    var src = button.dataset.viewerSrc;
    var title = button.dataset.viewerTitle || "";
    $("[data-viewer-title]", dialog).textContent = title;
    var download = $("[data-viewer-download]", dialog);
    if (download) download.href = src;
    body.replaceChildren();
    body.dataset.kind = type.split("/")[0];
    var el;
    if (type === "application/pdf") {
      el = document.createElement("iframe");
      el.src = src;
      el.title = title;
      el.className = "viewer__frame";
    } else if (type.indexOf("image/") === 0) {
      el = document.createElement("img");
      el.src = src;
      el.alt = title;
      el.className = "viewer__image";
    } else if (type.indexOf("audio/") === 0) {
      el = document.createElement("audio");
      el.src = src;
      el.controls = true;
      el.className = "viewer__audio";
    } else if (button.dataset.viewerText) {
      el = document.createElement("div");
      el.className = "viewer__doc prose";
      el.textContent = body.dataset.labelLoading || "…";
      var request = ++viewerRequest;
      fetch(button.dataset.viewerText, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (text) {
          if (request !== viewerRequest) return;
          // Sanitised on the server (nh3 allow-list); parsed inertly here.
          var parsed = new DOMParser().parseFromString(text, "text/html");
          el.replaceChildren.apply(el, Array.prototype.slice.call(parsed.body.childNodes));
        })
        .catch(function () { el.textContent = body.dataset.labelError || "Error"; });
    } else {
      return false;
    }
    body.appendChild(el);
    openDialog(dialog, button);
    return true;
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-viewer-src]");
    if (button && showInViewer(button)) evt.preventDefault();
  });

  // --- client-side filters (timeline, feed), kept across pushed updates -------------------

  function applyFilters() {
    $$("[data-filter-for]").forEach(function (bar) {
      var name = bar.dataset.filterFor;
      var list = $("[data-filterable='" + name + "']");
      if (!list) return;
      var wanted = {};
      $$("[data-filter]", bar).forEach(function (control) {
        wanted[control.dataset.filter] = control.type === "checkbox" ? control.checked : control.value;
      });
      var shown = 0, total = 0;
      Array.prototype.forEach.call(list.children, function (item) {
        total++;
        var ok = true;
        if (wanted.roles) {
          var roles = (item.dataset.roles || "").split(" ");
          ok = roles.indexOf(wanted.roles) >= 0 || roles.indexOf("*") >= 0;
        }
        if (ok && wanted.phase) ok = item.dataset.phase === wanted.phase;
        if (ok && wanted.open) ok = ["upcoming", "due", "waiting"].indexOf(item.dataset.state) >= 0;
        item.hidden = !ok;
        if (ok) shown++;
      });
      var count = $("[data-filter-count]", bar);
      if (count) {
        var filtered = Object.keys(wanted).some(function (k) { return wanted[k]; });
        count.textContent = filtered ? shown + " / " + total : "";
      }
    });
  }

  function restoreFilters() {
    $$("[data-filter-for]").forEach(function (bar) {
      var saved = load("filter:" + bar.dataset.filterFor, {});
      $$("[data-filter]", bar).forEach(function (control) {
        var value = saved[control.dataset.filter];
        if (value === undefined) return;
        if (control.type === "checkbox") control.checked = !!value;
        else control.value = value;
      });
    });
  }

  document.addEventListener("change", function (evt) {
    var control = evt.target.closest("[data-filter]");
    if (!control) return;
    var bar = control.closest("[data-filter-for]");
    var state = {};
    $$("[data-filter]", bar).forEach(function (c) {
      state[c.dataset.filter] = c.type === "checkbox" ? c.checked : c.value;
    });
    save("filter:" + bar.dataset.filterFor, state);
    applyFilters();
  });

  document.addEventListener("htmx:oobAfterSwap", applyFilters);
  document.addEventListener("simtrain:updated", applyFilters);

  // --- keyboard shortcuts ---------------------------------------------------------------------

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    if ($("dialog[open]")) return;
    if (typing(evt.target)) return;
    var key = evt.key ? evt.key.toLowerCase() : "";
    if (key === "n" && document.body.classList.contains("screen--control")) {
      var note = document.getElementById("note-text");
      if (note) {
        evt.preventDefault();
        note.scrollIntoView({ block: "nearest" });
        note.focus();
      }
    } else if (key === "i") {
      var composer = document.getElementById("composer-dialog");
      if (composer) { evt.preventDefault(); openDialog(composer); }
    } else if (key === "a") {
      var annotate = document.getElementById("annotation-dialog");
      if (annotate) {
        evt.preventDefault();
        openDialog(annotate);
        var text = document.getElementById("annotation-text");
        if (text) text.focus();
      }
    }
  });

  // Enter sends a note (Shift+Enter for a new line).
  document.addEventListener("keydown", function (evt) {
    var field = evt.target;
    if (evt.key !== "Enter" || evt.shiftKey || !field || !field.hasAttribute || !field.hasAttribute("data-submit-on-enter")) return;
    evt.preventDefault();
    if (field.value.trim() && field.form) {
      if (field.form.requestSubmit) field.form.requestSubmit();
      else htmx.trigger(field.form, "submit");
    }
  });

  // --- confirmations on socket forms ------------------------------------------------------------

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  // --- safety stops: a modal that must be acknowledged, and a beep ---------------------------------

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      var ctx = beep.ctx || (beep.ctx = new Ctx());
      if (ctx.state === "suspended") ctx.resume();
      [0, 0.35].forEach(function (at) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + at + 0.25);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.3);
      });
    } catch (e) { /* no sound: the dialog is there anyway */ }
  }

  function checkAlerts() {
    var dialog = document.getElementById("safety-dialog");
    if (!dialog) return;
    var acked = load("safety-acked", 0);
    var newest = null;
    $$("#region-alerts [data-alert='safety']").forEach(function (alert) {
      var seq = parseInt(alert.dataset.seq, 10);
      if (seq > acked && (!newest || seq > parseInt(newest.dataset.seq, 10))) newest = alert;
    });
    if (!newest) return;
    var text = $("#safety-text", dialog);
    text.textContent = (text.dataset.template || "{name} ({role}) — {time}")
      .replace("{name}", newest.dataset.alertName || "")
      .replace("{role}", newest.dataset.alertRole || "")
      .replace("{time}", newest.dataset.alertAt || "");
    var note = $("[data-safety-note]", dialog);
    note.textContent = newest.dataset.alertNote ? "« " + newest.dataset.alertNote + " »" : "";
    dialog.dataset.seq = newest.dataset.seq;
    if (!dialog.open) {
      if (document.querySelector("dialog[open]")) closeDialog(document.querySelector("dialog[open]"));
      openDialog(dialog);
      beep();
    }
  }

  document.addEventListener("click", function (evt) {
    var ack = evt.target.closest("[data-safety-ack]");
    if (!ack) return;
    var dialog = ack.closest("dialog");
    save("safety-acked", Math.max(load("safety-acked", 0), parseInt(dialog.dataset.seq || "0", 10)));
    closeDialog(dialog);
    checkAlerts();
  });

  document.addEventListener("cancel", function (evt) {
    // Escape must not dismiss a safety alert without acknowledging it.
    if (evt.target && evt.target.id === "safety-dialog") evt.preventDefault();
  }, true);

  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "region-alerts") checkAlerts();
  });

  // --- the ad-hoc composer (htmx POST; its 400 answers carry the form with the error) ---------

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "composer" && evt.detail.xhr && evt.detail.xhr.status === 400) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var composer = document.getElementById("composer");
    if (composer && composer.hasAttribute("data-sent") && evt.detail.target === composer) {
      window.setTimeout(function () {
        var dialog = composer.closest("dialog");
        if (dialog && composer.isConnected && composer.hasAttribute("data-sent")) closeDialog(dialog);
      }, 900);
    }
  });

  // --- the actor's tablet -----------------------------------------------------------------------

  var wakeLock = null;
  function keepAwake() {
    if (!document.body.classList.contains("screen--tablet")) return;
    if (!("wakeLock" in navigator) || document.visibilityState !== "visible") return;
    if (wakeLock && !wakeLock.released) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      html.dataset.wakeLock = "on";
      lock.addEventListener("release", function () { html.dataset.wakeLock = "off"; });
    }).catch(function () { html.dataset.wakeLock = "unavailable"; });
  }
  document.addEventListener("visibilitychange", keepAwake);
  // Some browsers grant the lock only after a user gesture.
  document.addEventListener("pointerdown", keepAwake, { passive: true });

  // A long cue shrinks until the card fits the screen: never scroll at arm's length.
  function fitCue() {
    var card = $(".cue-card");
    if (!card || !document.body.classList.contains("screen--tablet")) return;
    var body = $(".cue-card__body", card);
    if (!body || body.clientHeight < 40) return;  // not laid out yet
    var scale = 1;
    card.style.setProperty("--cue-scale", "1");
    for (var i = 0; i < 14 && body.scrollHeight > body.clientHeight + 1; i++) {
      scale -= 0.05;
      card.style.setProperty("--cue-scale", scale.toFixed(2));
    }
    card.dataset.fitScale = scale.toFixed(2);
  }
  window.addEventListener("resize", fitCue);
  window.addEventListener("load", fitCue);
  if (window.ResizeObserver) {
    // The card's box changes with the viewport, the bar above it, fonts arriving…
    var fitObserver = new ResizeObserver(function () { window.requestAnimationFrame(fitCue); });
    document.addEventListener("DOMContentLoaded", function () {
      var stage = document.querySelector(".tablet-stage");
      if (stage) fitObserver.observe(stage);
    });
  }
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "region-cues") fitCue();
  });

  function unreadBadge() {
    var badge = $("[data-unread-badge]");
    var counter = document.getElementById("inbox-unread");
    if (!badge || !counter) return;
    var n = parseInt(counter.dataset.unread || "0", 10);
    badge.textContent = String(n);
    badge.hidden = n === 0;
  }
  document.addEventListener("simtrain:updated", unreadBadge);

  // The stop button answers at once, before the server does.
  document.addEventListener("htmx:wsAfterSend", function (evt) {
    var form = evt.target && evt.target.closest ? evt.target.closest("[data-safety-stop]") : null;
    if (form) form.dataset.sent = "1";
  });

  // On arrival, the timeline shows what comes next, not what is long done.
  function scrollTimelineToNext() {
    var next = $("#region-timeline [data-state='due'], #region-timeline [data-state='upcoming'], #region-timeline [data-state='waiting']");
    var panel = next && next.closest(".panel__body");
    if (!panel) return;
    panel.scrollTop += next.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
  }

  document.addEventListener("DOMContentLoaded", function () {
    scrollTimelineToNext();
    restoreFilters();
    applyFilters();
    checkAlerts();
    keepAwake();
    unreadBadge();
    fitCue();
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitCue);
  });
})();
