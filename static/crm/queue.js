// Keyboard for the care queue: j / k (or arrows) move between calls, Enter or o
// opens the call panel, l jumps to the outcome, Esc returns to the list.
// The outcome form shows only the fields the chosen outcome needs (also on the panel's own page).
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("#queue-list .queue-row")); }
  function typing(el) { return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT"); }
  function move(step) {
    const list = rows();
    if (!list.length) return;
    let i = list.indexOf(document.activeElement);
    i = i < 0 ? 0 : Math.min(Math.max(i + step, 0), list.length - 1);
    list.forEach((r) => r.classList.remove("selected"));
    list[i].classList.add("selected");
    list[i].focus();
  }
  function open(row) {
    if (row && window.htmx) { htmx.ajax("GET", row.dataset.panelUrl, { target: "#call-panel" }); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (typing(e.target)) { if (e.key === "Escape") { e.target.blur(); move(0); } return; }
    const row = document.activeElement && document.activeElement.closest(".queue-row");
    if (e.key === "j" || e.key === "ArrowDown") { move(1); e.preventDefault(); }
    else if (e.key === "k" || e.key === "ArrowUp") { move(-1); e.preventDefault(); }
    else if ((e.key === "o" || e.key === "Enter") && row) { open(row); e.preventDefault(); }
    else if (e.key === "l") { const code = document.querySelector("#call-panel select[name=code]"); if (code) { code.focus(); e.preventDefault(); } }
    else if (e.key === "Escape") { move(0); }
  });
  // Each outcome option names the fields it needs (data-needs); each such field
  // sits in a [data-needed-by] block. Without this script every block shows,
  // labelled with the outcomes it is for; the server checks either way.
  function fitOutcome(form) {
    const select = form.querySelector("select[name=code]");
    if (!select) return;
    const option = select.options[select.selectedIndex];
    const needs = option && option.dataset.needs ? option.dataset.needs.split(" ") : [];
    form.querySelectorAll("[data-needed-by]").forEach((el) => { el.hidden = !needs.includes(el.dataset.field); });
    form.querySelectorAll(".needs-hint").forEach((el) => { el.hidden = true; });
  }
  function fitAll() { document.querySelectorAll("form.outcome").forEach(fitOutcome); }
  document.addEventListener("change", function (e) {
    if (e.target.matches("form.outcome select[name=code]")) fitOutcome(e.target.form);
  });
  document.addEventListener("htmx:afterSwap", fitAll);
  fitAll();  // a deferred script runs once the page is parsed: the panel page has its form already
  // A click on a row marks it as the current one, for j / k afterwards.
  document.addEventListener("click", function (e) {
    const row = e.target.closest && e.target.closest(".queue-row");
    if (row) { rows().forEach((r) => r.classList.remove("selected")); row.classList.add("selected"); }
  });
})();
