// Progress of a product import being applied: polls the import's progress URL and moves
// the bar; reloads the page once the import has finished, to show its result.
// (A separate file: the Content-Security-Policy allows scripts from this site only.)
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  var status = document.getElementById("import-status");
  var delay = 1000;

  function show(data) {
    bar.max = data.total || 1;
    bar.value = data.processed;
    bar.textContent = data.processed + " of " + data.total;
    text.textContent = data.processed + " of " + data.total;
    if (status) { status.textContent = data.status; }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) {
          window.location.reload();
        } else {
          delay = 1000;
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // The server is busy or unreachable: try again, less often.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
