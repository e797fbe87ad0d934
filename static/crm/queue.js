// Keyboard for the care queue: j / k (or arrows) move between calls, Enter or o
// opens the call panel, l jumps to the outcome, Esc returns to the list.
// The outcome form shows only the fields the chosen outcome needs.
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
  function fitOutcome(form) {
    const select = form.querySelector("select[name=code]");
    if (!select) return;
    const info = form.querySelector('.outcome-help [data-code="' + select.value + '"]');
    const action = info ? info.dataset.action : "";
    const asks = info && info.dataset.asks ? info.dataset.asks.split(",") : [];
    form.querySelectorAll(".when").forEach((el) => { el.hidden = !el.classList.contains("when-" + action); });
    form.querySelectorAll(".ask").forEach((el) => { el.hidden = !asks.some((a) => el.classList.contains("ask-" + a)); });
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("form.outcome select[name=code]")) fitOutcome(e.target.form);
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("form.outcome").forEach(fitOutcome);
  });
  // A click on a row marks it as the current one, for j / k afterwards.
  document.addEventListener("click", function (e) {
    const row = e.target.closest && e.target.closest(".queue-row");
    if (row) { rows().forEach((r) => r.classList.remove("selected")); row.classList.add("selected"); }
  });
})();
