// Settings › Export: POST /api/v1/export, saved as a file. The archive is streamed by the
// box; the browser keeps it in memory until it is complete, then offers it as a download.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  const form = document.getElementById("export-form");
  const seal = document.getElementById("seal-fields");
  const result = document.getElementById("export-result");
  const progress = document.getElementById("export-progress");
  const lang = document.documentElement.lang;
  const size = (bytes) => new Intl.NumberFormat(lang, { style: "unit", unit: bytes < 1e6 ? "kilobyte" : "megabyte", unitDisplay: "short", maximumFractionDigits: 1 })
    .format(bytes < 1e6 ? bytes / 1e3 : bytes / 1e6);
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
    progress.hidden = false;
    progress.removeAttribute("value");
    sd.show(result, sd.format(form.dataset.working, { size: size(0) }));
    try {
      const response = await fetch("/api/v1/export", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        let message = response.statusText;
        try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
        throw new Error(message);
      }
      const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || "selfdata-export";
      const reader = response.body.getReader();
      const parts = [];
      let received = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        received += value.length;
        sd.show(result, sd.format(form.dataset.working, { size: size(received) }));
      }
      sd.download(name, parts, "application/octet-stream");
      form.reset();
      update();
      sd.show(result, sd.format(form.dataset.done, { size: size(received), name }));
      result.dataset.done = "true";
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    } finally {
      progress.hidden = true;
      button.disabled = false;
    }
  });
});
