// The form builder: the preview follows every change (the server draws it from what
// the builder holds, so it is the form as it will be), and embed snippets copy with
// one click.
(function () {
  'use strict';
  var builder = document.querySelector('form[data-builder]');
  var timer = null;
  function refresh() {
    var body = new URLSearchParams(new FormData(builder));
    fetch('/admin/forms/preview', { method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-preview]');
        var old = document.querySelector('[data-preview]');
        if (fresh && old) old.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* the preview catches up on the next change */ });
  }
  if (builder) {
    var later = function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    };
    builder.addEventListener('input', later);
    builder.addEventListener('change', later);
  }

  var buttons = document.querySelectorAll('[data-copy-button]');
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute('data-copy-button'));
    if (!source) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var done = function () { button.textContent = 'Copied'; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
      }
    });
  });
})();
