/* simtrain — the exercise clock in words, one definition for the live screens
 * (live.js) and the replay (replay.js). Loaded before both.
 */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // 75000 → "01:15"; 3725000 → "1:02:05" (as simtrain.durations.format_clock).
  function format(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(sec) : pad(m) + ":" + pad(sec);
  }

  // Story time at clock `ms`, as sessions/story.py describes `data` (the JSON of a
  // `data-story` attribute): the same label as scenarios.fiction.story_label.
  function story(ms, data) {
    var segs = data.segments, at = segs[0];
    for (var i = 1; i < segs.length; i++) if (segs[i][0] <= ms) at = segs[i];
    var d = new Date(at[1] + Math.max(0, ms) - at[0]);
    var day = (d.getUTCDay() + 6) % 7;  // Monday first, as the names are
    var parts = {
      D: data.days[day], j: String(d.getUTCDate()), F: data.months[d.getUTCMonth()],
      Y: String(d.getUTCFullYear()), H: pad(d.getUTCHours()), i: pad(d.getUTCMinutes()),
    };
    var out = "", p = data.pattern;
    for (var k = 0; k < p.length; k++) {
      var c = p.charAt(k);
      if (c === "\\") { out += p.charAt(++k); continue; }
      out += Object.prototype.hasOwnProperty.call(parts, c) ? parts[c] : c;
    }
    return out;
  }

  window.simtrainClock = { format: format, pad: pad, story: story };
})();
