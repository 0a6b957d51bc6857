// Live progress of a bulk action: polls the page's progress URL and updates the bar.
// The only script of the console; the page works without it (reload to see progress).
(function () {
  "use strict";
  var bar = document.querySelector("progress[data-poll]");
  if (!bar) { return; }
  var text = document.getElementById("progress-text");
  var state = document.getElementById("state");
  var done = { draft: 1, done: 1, reverted: 1 };
  function poll() {
    fetch(bar.dataset.poll, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      bar.max = Math.max(s.progress.total, 1);
      bar.value = s.progress.done;
      text.textContent = s.progress.done + " of " + s.progress.total + " sanctioned, " + s.progress.reverted + " reverted";
      if (state) { state.textContent = s.state; }
      if (!done[s.state]) { setTimeout(poll, 1000); }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
