/* Door scanner: camera -> decode -> check-in POST -> a full-screen answer, then resume.
   Each scan carries a random nonce, so resending it is harmless; scans that fail for network
   reasons wait in localStorage and are resent. mode "navigate" (attendees) opens a door code. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var root = $('scanner'), mode = root.dataset.mode, postUrl = root.dataset.post;
  var csrf = document.querySelector('meta[name=csrf-token]').content;
  var qkey = 'door-queue:' + postUrl;
  var result = $('result'), state = $('camera-state'), queueEl = $('queue');
  var busy = false, last = '', lastAt = 0, timer = 0, flushing = false, audio = null;
  var KIND = { checked_in: 'ok', already_checked_in: 'warn', queued: 'wait' };

  function nonce() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(qkey)) || []; } catch (e) { return []; }
  }
  function saveQueue(q) {
    try { localStorage.setItem(qkey, JSON.stringify(q)); } catch (e) { /* private mode */ }
    showQueue(q);
  }
  function showQueue(q) {
    if (!queueEl) return;
    queueEl.hidden = !q.length;
    queueEl.textContent = q.length + (q.length === 1 ? ' scan' : ' scans') + ' waiting';
  }

  function signal(kind) {
    try {
      if (navigator.vibrate) navigator.vibrate(kind === 'ok' ? 80 : [70, 60, 70]);
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = kind === 'ok' ? 880 : kind === 'warn' ? 520 : 220;
      g.gain.value = 0.2;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + (kind === 'ok' ? 0.12 : 0.35));
    } catch (e) { /* no sound is fine */ }
  }
  function show(data) {
    var kind = KIND[data.status] || 'bad';
    result.className = 'scan-result scan-' + kind;
    $('result-text').textContent = data.message;
    $('result-detail').textContent = data.status === 'checked_in' && data.first_time
      ? 'First time at this group: say hello!' : '';
    result.hidden = false;
    signal(kind);
    clearTimeout(timer);
    timer = setTimeout(hide, kind === 'ok' ? 1600 : 2600);
  }
  function hide() { result.hidden = true; busy = false; }
  result.addEventListener('click', hide);

  function send(item) {
    return fetch(postUrl, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify(item)
    }).then(function (r) {
      if (r.status >= 500) throw new Error('HTTP ' + r.status);
      return r.json().catch(function () {
        return { status: 'error', message: 'Signed out or session expired: reload the page (' + r.status + ').' };
      });
    });
  }
  function log(data) {
    var li = document.createElement('li'), list = $('log');
    li.textContent = 'Sent later: ' + data.message;
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5) list.removeChild(list.lastChild);
  }
  function flush() {
    var q = loadQueue();
    if (!q.length || flushing) return;
    flushing = true;
    send(q[0]).then(function (data) {
      saveQueue(loadQueue().filter(function (i) { return i.nonce !== q[0].nonce; }));
      flushing = false;
      log(data);
      flush();
    }, function () { flushing = false; });
  }

  function navigate(code) {
    var url = null;
    try { url = new URL(code, location.href); } catch (e) { /* not a URL */ }
    if (url && url.origin === location.origin && url.pathname.indexOf('/door/in/') !== -1) {
      state.textContent = 'Checking you in…';
      location.assign(url.href);
    } else {
      show({ status: 'invalid', message: 'That is not the check-in code of this door.' });
    }
  }
  function handle(code, typed) {
    code = (code || '').trim();
    var now = Date.now();
    if (!code || busy || (!typed && code === last && now - lastAt < 5000)) return;
    last = code; lastAt = now; busy = true;
    if (mode === 'navigate') { navigate(code); return; }
    var item = { code: code, nonce: nonce() };
    send(item).then(show, function () {
      var q = loadQueue();
      q.push(item);
      saveQueue(q);
      show({ status: 'queued', message: 'No connection: scan saved, it is sent when the network is back.' });
    });
  }

  function cameraError(e) {
    var why = e && (e.name || e.message) ? ((e.name || '') + ' ' + (e.message || '')).trim() : String(e);
    state.textContent = 'Camera unavailable: ' + why + (mode === 'navigate' ? '' : '. Type the code below.');
    state.className = 'scan-state scan-error';
  }
  function startCamera() {
    if (!window.QrScanner) { cameraError('the QR decoder did not load'); return; }
    var scanner = new QrScanner($('video'), function (r) { handle(r.data); }, {
      returnDetailedScanResult: true,
      preferredCamera: 'environment',
      maxScansPerSecond: 10,
      // The whole frame, not the library's centred square: a pass held off-centre still reads.
      calculateScanRegion: function (v) {
        var w = v.videoWidth, h = v.videoHeight, s = Math.min(1, 800 / Math.max(w, h, 1));
        return { x: 0, y: 0, width: w, height: h,
                 downScaledWidth: Math.round(w * s), downScaledHeight: Math.round(h * s) };
      }
    });
    scanner.setInversionMode('both');
    scanner.start().then(function () {
      state.textContent = mode === 'navigate' ? 'Point the camera at the code on the screen' : 'Point the camera at a pass';
    }, cameraError);
  }

  var form = $('manual');
  if (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = $('code');
      handle(input.value, true);
      input.value = '';
    });
    showQueue(loadQueue());
    flush();
    setInterval(flush, 5000);
    window.addEventListener('online', flush);
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraError('this browser gives no camera access here (it needs HTTPS)');
  } else {
    startCamera();
  }
})();
