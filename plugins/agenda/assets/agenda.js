// Réunions (agenda module): progressive enhancements only; every page works without it.
// « Mes réunions »: the feed's address is selected on focus, and a button (hidden
// without this script) copies it:
//   <input id="flux" data-select-on-focus> <button data-copy="flux" data-copy-status="…" hidden>
'use strict';
document.querySelectorAll('input[data-select-on-focus]').forEach(function (input) {
  input.addEventListener('focus', function () { input.select(); });
});
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  if (!field) return;
  var status = document.getElementById(button.dataset.copyStatus || '');
  var say = function (text) { if (status) status.textContent = text; };
  button.hidden = false;
  button.addEventListener('click', function () {
    var done = function () { say('Adresse copiée dans le presse-papiers.'); };
    var fallback = function () {
      field.focus();
      field.select();
      try {
        document.execCommand('copy');
        done();
      } catch (e) {
        say('Copie impossible : sélectionnez l’adresse et copiez-la.');
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });
});
