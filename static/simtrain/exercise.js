/* simtrain — the exercise control room: each team's clock ticks between two polls of
 * the overview (every 3 s), from the clock time, state and speed the server rendered.
 */
(function () {
  "use strict";

  var renderedAt = Date.now();

  document.addEventListener("htmx:afterSwap", function () { renderedAt = Date.now(); });

  function tick() {
    var clocks = document.querySelectorAll(".clock__time[data-clock-ms][data-running='1']");
    var elapsed = Date.now() - renderedAt;
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var speed = parseFloat(el.getAttribute("data-speed")) || 1;
      var ms = parseInt(el.getAttribute("data-clock-ms"), 10) + elapsed * speed;
      el.textContent = window.simtrainClock.format(ms);
    }
  }

  setInterval(tick, 250);
})();
