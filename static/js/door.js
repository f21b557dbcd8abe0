/* Organiser door pages: the live view refreshes itself; the check-in list searches as you type.
   Both swap in HTML the server rendered (and escaped). */
(function () {
  'use strict';
  function swap(el, url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.text();
    }).then(function (html) { el.innerHTML = html; });
  }
  var live = document.getElementById('live');
  if (live) {
    setInterval(function () { if (!document.hidden) swap(live, live.dataset.poll).catch(function () {}); }, 5000);
  }
  var q = document.getElementById('q'), results = document.getElementById('results');
  if (q && results) {
    var timer = 0, seq = 0;
    q.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq, url = q.dataset.live + '&q=' + encodeURIComponent(q.value);
        fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (html) {
          if (mine === seq) results.innerHTML = html;  // a slow early answer never wins
        }).catch(function () {});
      }, 200);
    });
  }
})();
