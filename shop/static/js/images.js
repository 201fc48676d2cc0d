// Product images come from a remote host; when one cannot load, show the local placeholder.
// (A listener instead of inline onerror=: the Content-Security-Policy forbids inline script.)
(function () {
  "use strict";
  function fallback(img) {
    var local = img.getAttribute("data-fallback");
    if (local && img.getAttribute("src") !== local) {
      img.setAttribute("src", local);
      img.classList.add("img-placeholder");
    }
  }
  function watch(img) {
    img.addEventListener("error", function () { fallback(img); });
    // Already failed before this script ran (cached error, or an empty src).
    if (img.complete && img.naturalWidth === 0) { fallback(img); }
  }
  document.querySelectorAll("img.js-img-fallback").forEach(watch);
})();
