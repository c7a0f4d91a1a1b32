// Communication page: copies the e-mail addresses into the clipboard (Clipboard API,
// else the selection). Reads everything from the markup:
//   <button data-copy="{id of the textarea}" data-copy-status="{id of the status}">
'use strict';
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.addEventListener('click', function () {
    var area = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copyStatus || 'copy-status');
    if (!area || !status) return;
    var count = area.value ? area.value.split('; ').length : 0;
    var done = function () {
      status.textContent = count + ' adresse(s) copiée(s) dans le presse-papiers.';
    };
    var fallback = function () {
      area.focus();
      area.select();
      try {
        document.execCommand('copy');
        done();
      } catch (e) {
        status.textContent = 'Copie impossible : sélectionnez le texte et copiez-le.';
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, fallback);
    } else {
      fallback();
    }
  });
});
