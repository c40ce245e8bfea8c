// The inbox's live countdowns: each `.countdown[data-due]` shows the time left to its
// first-touch deadline, and turns red once breached. The server's clock decides: the
// page carries the server time it was rendered at, so a client clock that is off does
// not move a deadline.
(function () {
  'use strict';
  var body = document.body;
  var offset = Number(body.getAttribute('data-now')) - Date.now();

  function format(ms) {
    var sign = ms < 0 ? '-' : '';
    var secs = ms < 0 ? Math.ceil(-ms / 1000) : Math.floor(ms / 1000);
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return h > 0 ? sign + h + ':' + two(m) + ':' + two(s) : sign + m + ':' + two(s);
  }

  function tick() {
    var now = Date.now() + offset;
    var clocks = document.querySelectorAll('.countdown[data-due]');
    for (var i = 0; i < clocks.length; i++) {
      var left = Number(clocks[i].getAttribute('data-due')) - now;
      var text = format(left);
      if (clocks[i].textContent !== text) clocks[i].textContent = text;
      clocks[i].classList.toggle('breached', left < 0);
    }
  }

  // A form sent once is not sent again by a second click.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.getAttribute('data-sent')) {
      e.preventDefault();
      return;
    }
    form.setAttribute('data-sent', '1');
    var buttons = form.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute('aria-disabled', 'true');
  });

  tick();
  setInterval(tick, 1000);
})();
