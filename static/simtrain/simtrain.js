/* simtrain — small progressive enhancements shared by every page.
 * Everything works without this file; it only makes htmx updates audible and
 * failures visible. No inline script anywhere (strict CSP).
 */
(function () {
  "use strict";

  var announcer = null;

  function announce(text) {
    announcer = announcer || document.getElementById("sr-announcer");
    if (!announcer || !text) return;
    // Clearing first makes screen readers repeat an identical message.
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text.replace(/\s+/g, " ").trim();
    }, 50);
  }

  function lang() {
    return (document.documentElement.lang || "fr").slice(0, 2);
  }

  var MESSAGES = {
    fr: {
      network: "Le serveur ne répond pas. Vérifiez la connexion puis réessayez.",
      server: "La page n’a pas pu être mise à jour (erreur %s). Rechargez la page.",
    },
    en: {
      network: "The server does not answer. Check the connection and try again.",
      server: "The page could not be updated (error %s). Reload the page.",
    },
  };

  function showError(text) {
    var main = document.querySelector("#main .container");
    if (!main) return;
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "htmx-error";
      box.className = "alert alert--error";
      box.setAttribute("role", "alert");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
  }

  function clearError() {
    var box = document.getElementById("htmx-error");
    if (box) box.remove();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    clearError();
    var target = event.detail && event.detail.target;
    var scope = target && target.isConnected ? target : document;
    var counter = scope.querySelector("[data-announce]");
    if (!counter && target && target.id) {
      var swapped = document.getElementById(target.id);
      counter = swapped && swapped.querySelector("[data-announce]");
    }
    if (counter) announce(counter.textContent);
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : "?";
    showError((MESSAGES[lang()] || MESSAGES.fr).server.replace("%s", status));
  });

  document.addEventListener("htmx:sendError", function () {
    showError((MESSAGES[lang()] || MESSAGES.fr).network);
  });

  // A validation report rendered with the page gets the focus, so it is read first.
  document.addEventListener("DOMContentLoaded", function () {
    var report = document.getElementById("report");
    if (report) report.focus();
  });
})();
