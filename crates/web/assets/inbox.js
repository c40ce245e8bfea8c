// Live pages (the inbox, the team board): each `.countdown[data-due]` shows the time
// left to its first-touch deadline and turns red once breached, counting from the
// server's clock (the live part carries the server time it was rendered at, so a
// client clock that is off does not move a deadline); a lead assigned, breaching its
// deadline or finding no rep updates the live part (`[data-live-src]`, fetched again
// from that address) without a reload, with an optional notification and sound (the
// session's event stream, /events); a form is sent once however often its button is
// clicked; keyboard shortcuts in the inbox (? lists them).
(function () {
  'use strict';
  var offset = 0;

  function live() { return document.querySelector('[data-live-src]'); }

  function readServerTime() {
    var root = live();
    if (root) offset = Number(root.getAttribute('data-now')) - Date.now();
  }

  function format(ms) {
    var secs = ms < 0 ? Math.ceil(-ms / 1000) : Math.floor(ms / 1000);
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return h > 0 ? h + ':' + two(m) + ':' + two(s) : m + ':' + two(s);
  }

  function tick() {
    var now = Date.now() + offset;
    var clocks = document.querySelectorAll('.countdown[data-due]');
    for (var i = 0; i < clocks.length; i++) {
      var left = Number(clocks[i].getAttribute('data-due')) - now;
      var text = format(left);
      if (clocks[i].textContent !== text) clocks[i].textContent = text;
      clocks[i].classList.toggle('breached', left < 0);
      var label = clocks[i].parentNode.querySelector('.due-label');
      if (label) label.textContent = left < 0 ? 'Overdue by' : 'First touch in';
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

  function say(text) {
    var status = document.getElementById('inbox-status');
    if (status) status.textContent = text;
  }

  // Someone typing in a lead's form keeps their words: the list is swapped in once
  // they have left the form empty or sent it.
  function busy() {
    var root = live();
    if (!root) return false;
    if (root.contains(document.activeElement) && document.activeElement.tagName !== 'BUTTON') return true;
    var fields = root.querySelectorAll('input[type=text], input[type=date]');
    for (var i = 0; i < fields.length; i++) if (fields[i].value) return true;
    return false;
  }

  var waiting = false;
  function refresh() {
    if (busy()) {
      waiting = true;
      return;
    }
    waiting = false;
    var old = live();
    if (!old) return;
    fetch(old.getAttribute('data-live-src'), { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector('[data-live-src]');
        if (fresh && old.isConnected) {
          old.replaceWith(document.importNode(fresh, true));
          readServerTime();
          tick();
        }
      })
      .catch(function () { /* the next event or a reload shows it */ });
  }
  document.addEventListener('focusout', function () { if (waiting) setTimeout(refresh, 0); });

  // A short two-tone chime, made in the page (no sound file to fetch), when asked for.
  var soundOn = false;
  try { soundOn = window.localStorage.getItem('leadline-sound') === 'on'; } catch (e) { /* private mode */ }
  function chime() {
    var Audio = window.AudioContext || window.webkitAudioContext;
    if (!soundOn || !Audio) return;
    try {
      var ctx = new Audio();
      [880, 1320].forEach(function (hz, i) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.15, ctx.currentTime + i * 0.18);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + i * 0.18 + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + i * 0.18);
        osc.stop(ctx.currentTime + i * 0.18 + 0.17);
      });
    } catch (e) { /* no audio here */ }
  }
  var sound = document.getElementById('sound-toggle');
  if (sound) {
    var label = function () {
      sound.textContent = soundOn ? 'Sound on' : 'Sound off';
      sound.setAttribute('aria-pressed', soundOn ? 'true' : 'false');
    };
    sound.hidden = false;
    label();
    sound.addEventListener('click', function () {
      soundOn = !soundOn;
      try { window.localStorage.setItem('leadline-sound', soundOn ? 'on' : 'off'); } catch (e) { /* kept for this page */ }
      label();
      chime();
    });
  }

  function notify(text) {
    say(text);
    chime();
    if (window.Notification && Notification.permission === 'granted') {
      try { new Notification('Leadline', { body: text }); } catch (e) { /* not allowed here */ }
    }
  }

  var toggle = document.getElementById('notify-toggle');
  if (toggle && window.Notification) {
    toggle.hidden = Notification.permission !== 'default';
    toggle.addEventListener('click', function () {
      Notification.requestPermission().then(function () { toggle.hidden = true; });
    });
  }

  if (window.EventSource) {
    var events = new EventSource('/events');
    events.addEventListener('lead.assigned', function () {
      notify('A new lead is yours.');
      refresh();
    });
    events.addEventListener('lead.sla_breached', function () {
      notify('A lead is past its first-touch deadline.');
      refresh();
    });
    events.addEventListener('lead.routing_failed', function () {
      notify('A lead found no rep to take it.');
      refresh();
    });
  }

  // Keyboard: j and k move between leads, a key per action focuses the current
  // lead's form, ? lists the keys. Keys typed into a field are the field's.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll('#inbox article.lead-row')); }
  function current() {
    var list = rows();
    for (var i = 0; i < list.length; i++) if (list[i].contains(document.activeElement)) return i;
    return -1;
  }
  function focusRow(i) {
    var list = rows();
    if (!list.length) return;
    var row = list[Math.max(0, Math.min(list.length - 1, i))];
    row.focus();
    row.scrollIntoView({ block: 'nearest' });
  }
  function act(kind, field) {
    var list = rows();
    var row = list[current()] || list[0];
    if (!row) return;
    var select = row.querySelector('select[name=kind]');
    if (kind && select) select.value = kind;
    var target = row.querySelector(field);
    if (target) target.focus();
  }
  var help = document.getElementById('shortcuts');
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (e.target.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'select' || tag === 'textarea') return;
    switch (e.key) {
      case 'j': focusRow(current() + 1); break;
      case 'k': focusRow(current() < 0 ? 0 : current() - 1); break;
      case 'c': act('connected_call', 'input[name=outcome]'); break;
      case 'a': act('call_attempt', 'input[name=outcome]'); break;
      case 'v': act('voicemail', 'input[name=outcome]'); break;
      case 'e': act('email', 'input[name=outcome]'); break;
      case 'm': act('meeting', 'input[name=outcome]'); break;
      case 'n': act(null, 'input[name=next_step]'); break;
      case '?': if (help && help.showModal) { help.showModal(); } break;
      default: return;
    }
    e.preventDefault();
  });

  readServerTime();
  tick();
  setInterval(tick, 1000);
})();
