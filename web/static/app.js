// Small progressive enhancements: show that a chain transaction is on its way, copy ids, print.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button) { button.setAttribute("aria-busy", "true"); button.textContent = button.dataset.busy || "Working…"; }
});
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-copy]");
  if (target && navigator.clipboard) { navigator.clipboard.writeText(target.dataset.copy); target.textContent = "Copied"; }
  if (event.target.closest("[data-print]")) { window.print(); }
});
