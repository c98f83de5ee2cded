// Bootstrap Italia loads its web fonts from window.__PUBLIC_PATH__; the path comes from this
// script tag's data attribute, so the page needs no inline script (Content-Security-Policy).
(function () {
  var script = document.currentScript;
  if (script && script.dataset.publicPath) {
    window.__PUBLIC_PATH__ = script.dataset.publicPath;
  }
  if (window.bootstrap && window.bootstrap.loadFonts) {
    window.bootstrap.loadFonts();
  }
})();
