// "Ma fiche": sends the chosen photo to the host's file endpoint, then keeps its id in
// the form. Reads everything from the markup:
//   <input type="file" data-photo-upload="{upload URL}" data-csrf="{token}">
// inside a form holding a hidden input[name=photo] (and the hidden input[name=csrf],
// used when the field carries no data-csrf).
'use strict';
document.querySelectorAll('input[data-photo-upload]').forEach(function (input) {
  input.addEventListener('change', function () {
    if (!input.files.length) return;
    var form = input.form;
    var csrf = form && form.querySelector('input[name=csrf]');
    var token = input.dataset.csrf || (csrf ? csrf.value : '');
    var body = new FormData();
    body.append('file', input.files[0]);
    var failed = function (message) {
      alert(message || 'Envoi de la photo impossible.');
    };
    fetch(input.dataset.photoUpload, {
      method: 'POST',
      body: body,
      headers: { 'x-csrf-token': token },
    })
      .then(function (r) { return r.json(); })
      .then(function (blob) {
        var photo = form && form.querySelector('input[name=photo]');
        if (blob.id && photo) {
          photo.value = blob.id;
        } else {
          failed(blob.error);
        }
      }, function () { failed(); });
  });
});
