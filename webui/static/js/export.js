// Settings › Export: a one-time link from POST /api/v1/export/tickets, followed, so the
// browser's own download saves the archive as the box streams it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  const form = document.getElementById("export-form");
  const seal = document.getElementById("seal-fields");
  const result = document.getElementById("export-result");
  // a Cozy export is a plain zip: there is nothing to seal
  const update = () => { seal.disabled = form.elements.format.value === "cozy"; };
  for (const radio of form.querySelectorAll("input[name=format]")) radio.addEventListener("change", update);
  update();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    result.classList.remove("error");
    delete result.dataset.done;
    if (!form.reportValidity()) return;
    const body = { format: f.format.value };
    if (!seal.disabled && f.passphrase.value) {
      if (f.passphrase.value !== f.passphrase2.value) {
        result.classList.add("error");
        return sd.show(result, form.dataset.mismatch);
      }
      body.passphrase = f.passphrase.value;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // A one-time link, followed: the browser saves the archive to disk as it streams
      // (a fetch would hold all of it in memory first).
      const ticket = await sd.api("POST", "/api/v1/export/tickets", body);
      form.reset();
      update();
      window.location.assign(ticket.url);
      sd.show(result, form.dataset.done);
      result.dataset.done = "true";
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    } finally {
      button.disabled = false;
    }
  });
});
