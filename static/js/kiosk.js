/* Kiosk: load a fresh code just after each 30-second step starts (the server signs it). */
(function () {
  'use strict';
  var img = document.getElementById('kiosk-qr');
  var step = Number(img.dataset.step) * 1000;
  function refresh() { img.src = img.dataset.src + '?t=' + Date.now(); }
  img.addEventListener('error', function () { setTimeout(refresh, 3000); });
  setTimeout(function () { refresh(); setInterval(refresh, step); }, Number(img.dataset.refreshIn) * 1000 + 300);
})();
