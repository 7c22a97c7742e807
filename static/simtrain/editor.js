/* The scenario editor: lists (add, move, remove), live validation marks, the inject
   table's sorting and the timeline (drag, or arrow keys, to change an inject's `at`).
   Inputs are named by data path (injects.3.title) and their id is the path's anchor
   (f-injects-3-title); a new item comes from the <template> of its model, with its
   path put in place of PLACEHOLDER. */
(function () {
  "use strict";
  var PLACEHOLDER = "__p__";
  var MINUTE = 60;

  function form() { return document.getElementById("ed-form"); }
  function dash(path) { return "f-" + path.split(".").join("-"); }

  function changed() {
    var badge = document.getElementById("ed-unsaved");
    if (badge) badge.hidden = false;
    document.body.dispatchEvent(new CustomEvent("ed-changed", { bubbles: true }));
  }

  // --- paths ---------------------------------------------------------------------------

  function rewrite(value, from, to, sep) {
    if (value === from) return to;
    if (value.indexOf(from + sep) === 0) return to + value.slice(from.length);
    return value;
  }

  function renamePaths(root, from, to) {
    var nodes = [root].concat(Array.prototype.slice.call(root.querySelectorAll("*")));
    nodes.forEach(function (el) {
      if (!el.getAttribute) return;
      ["name", "data-prefix"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v !== null) el.setAttribute(attr, rewrite(v, from, to, "."));
      });
      ["id", "for"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v !== null) el.setAttribute(attr, rewrite(v, dash(from), dash(to), "-"));
      });
      var href = el.getAttribute("href");
      if (href && href.charAt(0) === "#") {
        el.setAttribute("href", "#" + rewrite(href.slice(1), dash(from), dash(to), "-"));
      }
    });
  }

  function fillTemplate(fragment, path) {
    Array.prototype.forEach.call(fragment.children, function (el) { renamePaths(el, PLACEHOLDER, path); });
  }

  function itemIndex(item) {
    var box = item.querySelector(".ed-obj");
    return box ? box.id.split("-").pop() : "";
  }

  // Items keep their path in their names: after a move or removal, renumber them in
  // page order (through a temporary name, so two items never share a path).
  function renumber(list) {
    var prefix = list.getAttribute("data-prefix");
    var items = Array.prototype.slice.call(list.querySelector(".ed-items").children);
    var moves = {};
    items.forEach(function (item, i) {
      var old = itemIndex(item);
      moves[old] = String(i);
      renamePaths(item, prefix + "." + old, prefix + ".~" + i);
    });
    items.forEach(function (item, i) { renamePaths(item, prefix + ".~" + i, prefix + "." + i); });
    if (prefix === "injects") {
      document.querySelectorAll("[data-inject-index]").forEach(function (el) {
        var now = moves[el.getAttribute("data-inject-index")];
        if (now === undefined) el.remove();
        else el.setAttribute("data-inject-index", now);
      });
    }
  }

  function firstInput(root) {
    return root.querySelector("input:not([type=hidden]), select, textarea, button");
  }

  function add(button) {
    var box = button.closest(".ed-list, .ed-slot");
    var template = document.getElementById(button.getAttribute("data-ed-add"));
    if (!box || !template) return;
    var fragment = template.content.cloneNode(true);
    var path = box.getAttribute("data-prefix");
    var items = box.querySelector(".ed-items");
    if (items) {
      path = path + "." + items.children.length;
    } else {
      fragment.querySelectorAll("[data-ed-move]").forEach(function (b) { b.remove(); });
      button.hidden = true;
    }
    fillTemplate(fragment, path);
    var item = fragment.firstElementChild;
    (items || box).insertBefore(fragment, items ? null : button);
    var legend = item.querySelector("legend");
    if (legend) legend.textContent = box.getAttribute("data-key") + " " + path.split(".").pop();
    var target = item.querySelector(".ed-obj");
    var input = target && firstInput(target);
    if (input) input.focus();
    changed();
  }

  function move(button) {
    var item = button.closest(".ed-item");
    var list = item.closest(".ed-list");
    var step = Number(button.getAttribute("data-ed-move"));
    var other = step < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!other) return;
    if (step < 0) item.parentNode.insertBefore(item, other);
    else item.parentNode.insertBefore(other, item);
    renumber(list);
    button.focus();
    changed();
  }

  function remove(button) {
    var item = button.closest(".ed-item");
    var slot = item.parentNode.closest(".ed-slot, .ed-list");
    item.remove();
    if (slot.classList.contains("ed-slot")) {
      var again = slot.querySelector(":scope > [data-ed-add]");
      again.hidden = false;
      again.focus();
    } else {
      renumber(slot);
      slot.querySelector(":scope > [data-ed-add]").focus();
    }
    changed();
  }

  // --- unions: a `when`, a condition or a measure is one of several forms --------------

  // Shows the chosen form's keys; the keys of the form left are emptied, so the
  // document does not hold two forms at once.
  function chooseForm(select) {
    var box = select.closest(".ed-obj");
    var chosen = select.value;
    box.querySelectorAll(":scope > .ed-form-part").forEach(function (part) {
      var shown = !chosen || part.getAttribute("data-ed-form") === chosen;
      if (!shown) {
        part.querySelectorAll(".ed-item").forEach(function (item) { item.remove(); });
        part.querySelectorAll("[data-ed-add]").forEach(function (b) { b.hidden = false; });
        part.querySelectorAll("input, textarea, select").forEach(function (el) { el.value = ""; });
      }
      part.hidden = !shown;
    });
    changed();
  }

  // --- jumping to a field, and marking the ones with a problem -------------------------

  function findAnchor(anchor) {
    var parts = anchor.split("-");
    while (parts.length > 1) {
      var el = document.getElementById(parts.join("-"));
      if (el) return el;
      parts.pop();
    }
    return null;
  }

  function reveal(el) {
    for (var d = el.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
    var focus = /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) ? el : firstInput(el) || el;
    focus.scrollIntoView({ block: "center" });
    focus.focus();
  }

  function markFields() {
    document.querySelectorAll(".ed-field-diag").forEach(function (p) { p.remove(); });
    document.querySelectorAll("#ed-form [aria-invalid], #ed-form [data-ed-marked]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("data-ed-marked");
      var help = el.getAttribute("data-ed-help");
      if (help) el.setAttribute("aria-describedby", help);
      else el.removeAttribute("aria-describedby");
    });
    document.querySelectorAll("#ed-check .ed-diag").forEach(function (li, n) {
      var el = findAnchor(li.getAttribute("data-anchor"));
      if (!el) return;
      var note = document.createElement("p");
      note.className = "ed-field-diag" + (li.getAttribute("data-error") ? " ed-field-diag--error" : "");
      note.id = "ed-diag-" + n;
      note.textContent = li.getAttribute("data-message");
      if (/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
        if (li.getAttribute("data-error")) el.setAttribute("aria-invalid", "true");
        var help = el.getAttribute("data-ed-help");
        el.setAttribute("aria-describedby", (help ? help + " " : "") + note.id);
        el.setAttribute("data-ed-marked", "");
        el.insertAdjacentElement("afterend", note);
      } else {
        var legend = el.querySelector(":scope > legend");
        if (legend) legend.insertAdjacentElement("afterend", note);
        else el.insertAdjacentElement("afterbegin", note);
      }
    });
  }

  // --- the inject table ----------------------------------------------------------------

  function sortTable(button) {
    var key = button.getAttribute("data-ed-sort");
    var th = button.closest("th");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = document.querySelector("#ed-inject-table tbody");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
      var order = key === "time" ? Number(x) - Number(y) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    th.parentNode.querySelectorAll("th").forEach(function (cell) { cell.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  // --- the timeline --------------------------------------------------------------------

  function formatDuration(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var out = (h ? h + "h" : "") + (m ? m + "m" : "");
    return out + (s || !out ? s + "s" : "");
  }

  function parseDuration(text) {
    var t = String(text).trim();
    if (/^[0-9]+$/.test(t)) return Number(t);
    var m = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(t);
    if (!m || !t) return null;
    return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0);
  }

  function timelineSpan() {
    var line = document.getElementById("ed-timeline");
    return line ? Number(line.getAttribute("data-span")) || 3600 : 3600;
  }

  function place(item, seconds) {
    item.setAttribute("data-at", String(seconds));
    item.style.left = Math.min(100, (seconds / timelineSpan()) * 100) + "%";
    item.setAttribute("aria-label", item.getAttribute("data-ident") + " — " + formatDuration(seconds));
  }

  // Injects close in time would hide one another: each goes on the first row of its
  // lane where it does not overlap the one before.
  function stack(track) {
    var items = Array.prototype.slice.call(track.querySelectorAll(".ed-tl-item"));
    items.sort(function (a, b) { return a.offsetLeft - b.offsetLeft; });
    var ends = [];
    items.forEach(function (item) {
      var left = item.offsetLeft - item.offsetWidth / 2;
      var row = ends.findIndex(function (end) { return end < left; });
      if (row < 0) { row = ends.length; ends.push(0); }
      ends[row] = left + item.offsetWidth + 2;
      item.style.top = 0.25 + row * 2 + "rem";
    });
    track.style.height = Math.max(1, ends.length) * 2 + 0.25 + "rem";
  }

  function atField(item) {
    return document.getElementById("f-injects-" + item.getAttribute("data-inject-index") + "-at");
  }

  function commit(item, seconds) {
    seconds = Math.max(0, Math.round(seconds / MINUTE) * MINUTE);
    place(item, seconds);
    stack(item.parentNode);
    var field = atField(item);
    if (field) {
      field.value = formatDuration(seconds);
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
    var row = document.querySelector("#ed-inject-table tr[data-inject-index='" + item.getAttribute("data-inject-index") + "']");
    if (row) {
      row.setAttribute("data-time", String(seconds));
      row.querySelector(".ed-row-time").textContent = formatDuration(seconds);
    }
    var live = document.getElementById("ed-timeline-live");
    var line = document.getElementById("ed-timeline");
    if (live) live.textContent = item.getAttribute("data-ident") + " " + line.getAttribute("data-msg-moved") + " " + formatDuration(seconds);
    changed();
  }

  function startDrag(item, event) {
    if (item.disabled) return;
    var track = item.parentNode;
    var rect = track.getBoundingClientRect();
    var seconds = Number(item.getAttribute("data-at"));
    item.setPointerCapture(event.pointerId);
    function at(e) {
      var x = Math.max(0, Math.min(rect.width, e.clientX - rect.left));
      return Math.round(((x / rect.width) * timelineSpan()) / MINUTE) * MINUTE;
    }
    function onMove(e) { seconds = at(e); place(item, seconds); }
    function onUp(e) {
      item.removeEventListener("pointermove", onMove);
      item.removeEventListener("pointerup", onUp);
      commit(item, at(e));
    }
    item.addEventListener("pointermove", onMove);
    item.addEventListener("pointerup", onUp);
    event.preventDefault();
  }

  function layTimeline() {
    document.querySelectorAll(".ed-tl-item").forEach(function (item) {
      place(item, Number(item.getAttribute("data-at")));
    });
    document.querySelectorAll(".ed-lane__track").forEach(stack);
  }

  function init() {
    var root = form();
    if (!root) return;
    layTimeline();
    document.addEventListener("change", function (e) {
      if (e.target.matches && e.target.matches("select[data-ed-union]")) chooseForm(e.target);
    });
    root.addEventListener("input", function (e) {
      var badge = document.getElementById("ed-unsaved");
      if (badge) badge.hidden = false;
      var match = /^injects\.([0-9]+)\.at$/.exec(e.target.name || "");
      var item = match && document.querySelector(".ed-tl-item[data-inject-index='" + match[1] + "']");
      var seconds = item && parseDuration(e.target.value);
      if (item && seconds !== null) place(item, seconds);
    });
    document.addEventListener("click", function (e) {
      var t = e.target.closest("[data-ed-add], [data-ed-move], [data-ed-remove], [data-ed-sort], a.ed-jump");
      if (!t) return;
      if (t.matches("a.ed-jump")) {
        var el = findAnchor(t.getAttribute("href").slice(1));
        if (el) { e.preventDefault(); reveal(el); }
      } else if (t.hasAttribute("data-ed-add")) add(t);
      else if (t.hasAttribute("data-ed-move")) move(t);
      else if (t.hasAttribute("data-ed-remove")) remove(t);
      else sortTable(t);
    });
    document.addEventListener("pointerdown", function (e) {
      var item = e.target.closest(".ed-tl-item");
      if (item) startDrag(item, e);
    });
    document.addEventListener("keydown", function (e) {
      var item = e.target.closest && e.target.closest(".ed-tl-item");
      if (!item || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
      var step = (e.shiftKey ? 10 : 1) * MINUTE * (e.key === "ArrowLeft" ? -1 : 1);
      commit(item, Number(item.getAttribute("data-at")) + step);
      e.preventDefault();
    });
    // A refused save (409: saved elsewhere) is shown, not dropped as an error.
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var status = e.detail.xhr.status;
      if ((status === 409 || status === 400) && e.detail.target.id === "ed-status") {
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target.id === "ed-check") markFields();
      if (e.detail.target.id === "ed-status" && e.detail.target.querySelector("[data-ed-saved]")) {
        document.getElementById("ed-unsaved").hidden = true;
        layTimeline();  // the saved injects' table and timeline came with the answer
      }
    });
    // Submitting and previewing use the last saved revision: with unsaved changes, save first.
    Array.prototype.forEach.call(document.querySelectorAll("[data-ed-submit]"), function (submit) {
      submit.addEventListener("submit", function (e) {
        var badge = document.getElementById("ed-unsaved");
        if (badge && !badge.hidden) {
          e.preventDefault();
          var status = document.getElementById("ed-status");
          status.textContent = "";
          var p = document.createElement("p");
          p.className = "alert alert--error";
          p.textContent = submit.getAttribute("data-ed-unsaved-message");
          status.appendChild(p);
        }
      });
    });
    // Leaving with unsaved changes (another link, an attachment upload) asks first.
    window.addEventListener("beforeunload", function (e) {
      var badge = document.getElementById("ed-unsaved");
      if (badge && !badge.hidden) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    markFields();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
