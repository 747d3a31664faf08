// onething's own few lines of script, loaded from a file (the Content-Security-Policy allows no inline
// script): print buttons, focus on a form's error summary, and the upload counter htmx keeps current.
(function () {
  'use strict';
  document.addEventListener('click', function (e) {
    var t = e.target.closest ? e.target.closest('[data-print]') : null;
    if (t) { e.preventDefault(); window.print(); }
  });
  document.addEventListener('DOMContentLoaded', function () {
    var summary = document.querySelector('[data-error-summary]');
    if (summary) { summary.focus(); }
  });
})();
