// Progressive enhancement for careaccess-admin: every form also works without this file.
"use strict";

// Pop-ups: a button with data-dialog="ID" opens <dialog id="ID"> instead of going to its fallback page.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (!opener) return;
  const dialog = document.getElementById(opener.dataset.dialog);
  if (!dialog || typeof dialog.showModal !== "function") return;
  event.preventDefault();
  if (opener.hasAttribute("data-needs-selection")) {
    const count = document.querySelectorAll('input[name="r"][form="manage-form"]:checked').length;
    const none = document.getElementById("manage-none");
    if (none) none.hidden = count > 0;
    if (count === 0) return;
    for (const shown of dialog.querySelectorAll("[data-selected-count]")) shown.textContent = String(count);
  }
  dialog.showModal();
});

// "Markera alla" ticks or clears every resident on the page.
function syncSelectAll() {
  const all = document.querySelector("[data-select-all]");
  if (!all) return;
  const boxes = [...document.querySelectorAll('input[name="r"][form="manage-form"]')];
  const ticked = boxes.filter((box) => box.checked).length;
  all.checked = boxes.length > 0 && ticked === boxes.length;
  all.indeterminate = ticked > 0 && ticked < boxes.length;
}

// A form with data-complete-form keeps its [data-complete] buttons disabled until it is valid;
// an input with data-required-when="RADIO" is required only while that radio is chosen.
function refreshForm(form) {
  for (const input of form.querySelectorAll("[data-required-when]")) {
    const radio = document.getElementById(input.dataset.requiredWhen);
    input.required = Boolean(radio && radio.checked);
  }
  for (const button of form.querySelectorAll("[data-complete]")) button.disabled = !form.checkValidity();
}

function refreshAll(root) {
  for (const form of root.querySelectorAll("form[data-complete-form]")) refreshForm(form);
  syncSelectAll();
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches("[data-select-all]")) {
    for (const box of document.querySelectorAll('input[name="r"][form="manage-form"]')) box.checked = target.checked;
  }
  if (target.matches('input[name="r"]')) syncSelectAll();
  const form = target.closest("form[data-complete-form]");
  if (form) refreshForm(form);
});

document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-complete-form]");
  if (form) refreshForm(form);
});

// Typing a date chooses "Specifikt datum".
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!input.matches("[data-required-when]") || !input.value) return;
  const radio = document.getElementById(input.dataset.requiredWhen);
  if (radio && !radio.checked) {
    radio.checked = true;
    refreshForm(input.closest("form"));
  }
});

// No double submits: a form that changes something is sent once; its buttons then wait.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method === "dialog" || form.method === "get" || form.hasAttribute("hx-post")) return;
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  const buttons = [...form.querySelectorAll("button"), ...(form.id ? document.querySelectorAll(`button[form="${form.id}"]`) : [])];
  // After this event, so the pressed button's name and value still go with the form.
  setTimeout(() => { for (const button of buttons) button.disabled = true; }, 0);
});

// A page restored from the back/forward cache may send its forms again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-sent]")) delete form.dataset.sent;
  for (const button of document.querySelectorAll("button:disabled:not([data-complete])")) button.disabled = false;
  refreshAll(document);
});

document.addEventListener("DOMContentLoaded", () => refreshAll(document));
document.addEventListener("htmx:afterSwap", () => refreshAll(document));
