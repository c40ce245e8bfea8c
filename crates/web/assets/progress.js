// An import's progress: the part marked [data-live-src] is fetched again every second
// until it says it is done (data-done), then shows the counts and the report.
(function () {
  'use strict';
  function poll() {
    var part = document.querySelector('[data-live-src]');
    if (!part || part.hasAttribute('data-done')) return;
    fetch(part.getAttribute('data-live-src'), { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-live-src]');
        if (fresh && part.isConnected) part.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* try again on the next tick */ })
      .then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
