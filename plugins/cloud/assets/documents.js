// Documents: the add and new-version forms, enhanced (docs/cloud-contract.md, « Files
// in, with JavaScript »). Without this script each form posts itself to the module as
// multipart/form-data (the host's body limit, 16 MiB by default). With it, files may be
// dropped onto the form, and on submit each is sent alone to the host's streamed upload
// route with its progress shown; their ids are then posted, as a plain form, to the
// module's deposit route, whose redirect the browser follows. Reads everything from the
// markup:
//   <form data-envoi="{host upload route}" data-depot="{module deposit route}"
//         data-max="{most files}" data-limite="{bytes per file}"
//         data-limite-texte="{that limit, in French}">
//     input[name=csrf] (first), input[type=file], input[name=dossier] and
//     input[name=libelle] when the form has them, p.depot-indication (hidden),
//     div.envois (one progress per file), p.erreur-envoi[aria-live] (errors)
'use strict';
(function () {
  var NOTHING_ADDED = ' Aucun document n’a été ajouté.';

  function percent(loaded, total) {
    if (!total) return 0;
    return Math.min(100, Math.floor((loaded * 100) / total));
  }

  // The French message for a refused or failed upload of the file `name`.
  function refusal(status, answer, name) {
    if (answer && typeof answer.error === 'string' && answer.error) {
      return '« ' + name + ' » : ' + answer.error + NOTHING_ADDED;
    }
    if (status === 413) {
      return 'Le fichier « ' + name + ' » dépasse la taille que la plateforme accepte.' +
        NOTHING_ADDED;
    }
    if (status === 403) {
      return 'L’envoi de « ' + name + ' » a été refusé : rechargez la page et recommencez.' +
        NOTHING_ADDED;
    }
    return 'L’envoi de « ' + name + ' » a échoué ; veuillez réessayer.' + NOTHING_ADDED;
  }

  // One line of div.envois: « Envoi de {nom} : 42 % » and its <progress>.
  function progressLine(list, name) {
    var line = document.createElement('p');
    line.className = 'envoi';
    var text = document.createElement('span');
    var bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', 'Envoi de ' + name);
    line.appendChild(text);
    line.appendChild(document.createTextNode(' '));
    line.appendChild(bar);
    list.appendChild(line);
    var update = function (value) {
      bar.value = value;
      text.textContent = 'Envoi de ' + name + ' : ' + value + ' %';
    };
    update(0);
    return update;
  }

  // Sends `file` to the host's route (the token first, then the file as `fichier`);
  // resolves with the blob's id.
  function send(url, token, file, update) {
    return new Promise(function (resolve, reject) {
      var body = new FormData();
      body.append('csrf', token);
      body.append('fichier', file, file.name);
      var request = new XMLHttpRequest();
      request.open('POST', url);
      request.upload.addEventListener('progress', function (event) {
        if (event.lengthComputable) update(percent(event.loaded, event.total));
      });
      request.addEventListener('load', function () {
        var answer = null;
        try {
          answer = JSON.parse(request.responseText);
        } catch (e) {
          answer = null;
        }
        if (request.status === 201 && answer && typeof answer.id === 'string') {
          update(100);
          resolve(answer.id);
        } else {
          reject(refusal(request.status, answer, file.name));
        }
      });
      request.addEventListener('error', function () {
        reject(refusal(0, null, file.name));
      });
      request.addEventListener('abort', function () {
        reject(refusal(0, null, file.name));
      });
      request.send(body);
    });
  }

  // Posts the deposit: a plain form to the module's route, whose answer (a redirect to
  // the page, or the module's refusal) the browser shows.
  function deposit(form, token, ids) {
    var target = document.createElement('form');
    target.method = 'post';
    target.action = form.dataset.depot;
    target.hidden = true;
    var field = function (name, value) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      target.appendChild(input);
    };
    field('csrf', token);
    ['dossier', 'libelle'].forEach(function (name) {
      var own = form.querySelector('[name="' + name + '"]');
      if (own) field(name, own.value);
    });
    ids.forEach(function (id) {
      field('blob', id);
    });
    document.body.appendChild(target);
    target.submit();
  }

  function enhance(form) {
    var input = form.querySelector('input[type=file]');
    var csrf = form.querySelector('input[name=csrf]');
    var list = form.querySelector('.envois');
    var errors = form.querySelector('.erreur-envoi');
    var button = form.querySelector('button[type=submit]');
    if (!input || !csrf || !list || !errors || !window.FormData || !window.Promise) return;
    var most = parseInt(form.dataset.max, 10) || 1;
    var limit = parseInt(form.dataset.limite, 10) || 0;
    var busy = false;
    var say = function (message) {
      errors.textContent = message;
    };
    var hint = form.querySelector('.depot-indication');
    if (hint) hint.hidden = false;

    var carriesFiles = function (event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, 'Files') >= 0;
    };
    form.addEventListener('dragover', function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      form.classList.add('survol');
    });
    form.addEventListener('dragleave', function (event) {
      if (!form.contains(event.relatedTarget)) form.classList.remove('survol');
    });
    form.addEventListener('drop', function (event) {
      form.classList.remove('survol');
      if (!carriesFiles(event)) return;
      event.preventDefault();
      var dropped = event.dataTransfer.files;
      if (!dropped || !dropped.length || busy) return;
      if (!input.multiple && dropped.length > 1) {
        say('Déposez un seul fichier pour une nouvelle version.');
        return;
      }
      try {
        input.files = dropped;
      } catch (e) {
        say('Votre navigateur ne permet pas de déposer des fichiers ici : choisissez-les avec le bouton.');
        return;
      }
      say('');
    });

    form.addEventListener('submit', function (event) {
      var files = Array.prototype.slice.call(input.files || []);
      // No file: the module's own answer (« Choisissez au moins un fichier. »).
      if (!files.length) return;
      event.preventDefault();
      if (busy) return;
      if (files.length > most) {
        say(most === 1
          ? 'Déposez un seul fichier pour une nouvelle version.'
          : 'Vous pouvez ajouter au plus ' + most + ' fichiers à la fois.' + NOTHING_ADDED);
        return;
      }
      for (var i = 0; i < files.length; i++) {
        if (limit && files[i].size > limit) {
          say('Le fichier « ' + files[i].name + ' » dépasse la taille maximale de ' +
            form.dataset.limiteTexte + ' par fichier.' + NOTHING_ADDED);
          return;
        }
      }
      busy = true;
      if (button) button.disabled = true;
      say('');
      while (list.firstChild) list.removeChild(list.firstChild);
      var ids = [];
      files.reduce(function (previous, file) {
        return previous.then(function () {
          return send(form.dataset.envoi, csrf.value, file, progressLine(list, file.name))
            .then(function (id) {
              ids.push(id);
            });
        });
      }, Promise.resolve()).then(function () {
        deposit(form, csrf.value, ids);
      }, function (message) {
        say(message);
        busy = false;
        if (button) button.disabled = false;
      });
    });
  }

  document.querySelectorAll('form[data-envoi][data-depot]').forEach(enhance);
})();
