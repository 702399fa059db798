// Unlock (or sign in) and recovery with the recovery key, through the JSON API.
"use strict";

function wire(formId, errorId, path, body, next) {
  const form = document.getElementById(formId);
  if (!form) return;
  const error = document.getElementById(errorId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await window.selfdata.api("POST", path, body(form));
      window.location.assign(next(form));
    } catch (err) {
      window.selfdata.show(error, err.message);
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wire("unlock-form", "unlock-error", "/api/v1/unlock",
    (f) => ({ passphrase: f.elements.passphrase.value }),
    (f) => f.dataset.next || "/");
  wire("recover-form", "recover-error", "/api/v1/recover",
    (f) => ({ recovery_key: f.elements.recovery_key.value, new_passphrase: f.elements.new_passphrase.value }),
    () => "/");
});
