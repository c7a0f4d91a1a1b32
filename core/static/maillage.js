// Maillage shell script: progressive enhancements only, every page works without it.
// Served as a static file (the pages' Content-Security-Policy forbids inline script).
"use strict";

// The service worker caches the shell's static files and shows an offline page; it
// never caches a member's pages.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  });
}

// Buttons that need a confirmation carry data-confirm="Question ?".
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
