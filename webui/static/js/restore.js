// First run, the other way: restore a backup with the recovery key (POST /api/v1/restore).
// It can take long (the whole backup is fetched and checked first): the form says it is
// working and stays disabled until the box answers; on failure nothing changed.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  for (const radio of document.querySelectorAll("[data-start]")) {
    radio.addEventListener("change", () => {
      for (const other of document.querySelectorAll("[data-start]")) {
        document.getElementById(other.dataset.start).hidden = !other.checked;
      }
    });
  }
  const form = document.getElementById("restore-form");
  if (!form) return;
  sd.targets.wire(form);
  const status = document.getElementById("restore-status");
  const error = document.getElementById("restore-error");
  const progress = document.getElementById("restore-progress");
  const snapshot = document.getElementById("restore-snapshot");
  const body = () => ({
    ...sd.targets.body(form),
    setup_code: form.elements.setup_code.value.trim(),
    recovery_key: form.elements.recovery_key.value.trim(),
  });
  const working = (text) => {
    const on = Boolean(text);
    form.setAttribute("aria-busy", String(on));
    // the other kinds' fields stay disabled through their fieldset
    for (const control of form.querySelectorAll("input, select, textarea, button")) control.disabled = on;
    progress.hidden = !on;
    if (on) { progress.removeAttribute("value"); sd.show(status, text); } else { status.hidden = true; }
  };
  const fail = (err) => {
    working("");
    sd.show(error, sd.format(form.dataset.failed, { message: err.message }));
    error.focus();
  };
  document.getElementById("restore-list").addEventListener("click", async () => {
    error.hidden = true;
    if (!form.reportValidity()) return;
    working(form.dataset.listing);
    try {
      const answer = await sd.api("POST", "/api/v1/restore", { ...body(), list: true });
      snapshot.textContent = "";
      snapshot.add(new Option(form.dataset.latest, ""));
      for (const snap of answer.snapshots.slice().reverse()) {
        snapshot.add(new Option(snap.id, snap.id));
      }
      working("");
      snapshot.focus();
    } catch (err) {
      fail(err);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!form.reportValidity()) return;
    const request = body();
    const pass = form.elements.new_passphrase.value;
    if (pass) {
      if (pass !== form.elements.new_passphrase2.value) return sd.show(error, form.dataset.mismatch);
      request.new_passphrase = pass;
    }
    if (snapshot.value) request.snapshot = snapshot.value;
    working(form.dataset.working);
    try {
      const report = await sd.api("POST", "/api/v1/restore", request);
      form.hidden = true;
      const done = document.getElementById("restore-done-text");
      done.textContent = sd.format(done.dataset.text, {
        snapshot: report.snapshot,
        created: report.created ? new Date(report.created).toLocaleString(document.documentElement.lang) : "",
        blobs: report.blobs,
      });
      document.getElementById("restore-done").hidden = false;
      done.focus();
    } catch (err) {
      fail(err);
    }
  });
});
