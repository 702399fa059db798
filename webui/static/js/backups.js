// Settings › Backups: add a target (reached before it is saved), back up now, list
// snapshots, remove. Everything goes through /api/v1/backups.
"use strict";

function formatBytes(lang, bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return new Intl.NumberFormat(lang, { style: "unit", unit: units[unit], unitDisplay: "short", maximumFractionDigits: 1 }).format(value);
}

// The retention fields (_target.html's retention_fields) as the API takes them.
function retentionOf(f) {
  return { daily: Number(f.daily.value), weekly: Number(f.weekly.value), monthly: Number(f.monthly.value) };
}

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  const lang = document.documentElement.lang;
  const form = document.getElementById("target-form");
  if (form) {
    sd.targets.wire(form);
    const error = document.getElementById("target-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!form.reportValidity()) return;
      const f = form.elements;
      const button = form.querySelector("button[type=submit]");
      const label = button.textContent;
      button.disabled = true;
      button.textContent = form.dataset.working;
      try {
        await sd.api("PUT", `/api/v1/backups/${encodeURIComponent(f.name.value.trim())}`, {
          ...sd.targets.body(form),
          schedule: f.schedule.value,
          retention: retentionOf(f),
        });
        window.location.reload();
      } catch (err) {
        sd.show(error, err.message);
        button.disabled = false;
        button.textContent = label;
      }
    });
  }
  const result = (name) => document.querySelector(`[data-result="${name}"]`);
  // Editing keeps the place and its secrets (a PUT without secrets keeps them) and does
  // not reach the target again: only when and how many change.
  for (const edit of document.querySelectorAll("form[data-edit]")) {
    edit.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = edit.dataset.edit;
      const out = result(name);
      out.classList.remove("error");
      if (!edit.reportValidity()) return;
      const f = edit.elements;
      const button = edit.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await sd.api("PUT", `/api/v1/backups/${encodeURIComponent(name)}`, {
          ...JSON.parse(edit.dataset.target),
          schedule: f.schedule.value,
          retention: retentionOf(f),
          enabled: !f.paused.checked,
          check: false,
        });
        window.location.reload();
      } catch (err) {
        out.classList.add("error");
        sd.show(out, err.message);
        button.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("[data-run]")) {
    button.addEventListener("click", async () => {
      const name = button.dataset.run;
      const out = result(name);
      out.classList.remove("error");
      button.disabled = true;
      sd.show(out, button.dataset.working);
      try {
        await sd.api("POST", `/api/v1/backups/${name}/run`);
        window.location.reload();
      } catch (err) {
        out.classList.add("error");
        sd.show(out, err.message);
        button.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("[data-snapshots]")) {
    button.addEventListener("click", async () => {
      const name = button.dataset.snapshots;
      const out = result(name);
      const box = document.querySelector(`[data-snapshot-list="${name}"]`);
      const body = box.querySelector("tbody");
      out.classList.remove("error");
      button.disabled = true;
      sd.show(out, button.dataset.working);
      try {
        const answer = await sd.api("GET", `/api/v1/backups/${name}/snapshots`);
        body.textContent = "";
        const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: box.dataset.tz });
        for (const snap of answer.snapshots.slice().reverse()) {
          const row = body.insertRow();
          const cells = [snap.id, snap.created ? when.format(new Date(snap.created)) : "",
            new Intl.NumberFormat(lang).format(snap.files), formatBytes(lang, snap.database_bytes)];
          cells.forEach((text, i) => {
            const cell = row.insertCell();
            cell.textContent = text;
            if (i >= 2) cell.className = "num";
          });
        }
        box.hidden = answer.snapshots.length === 0;
        if (answer.snapshots.length) out.hidden = true;
        else sd.show(out, button.dataset.none);
      } catch (err) {
        out.classList.add("error");
        sd.show(out, err.message);
      } finally {
        button.disabled = false;
      }
    });
  }
  for (const button of document.querySelectorAll("[data-remove]")) {
    button.addEventListener("click", async () => {
      if (!window.confirm(button.dataset.confirm)) return;
      try {
        await sd.api("DELETE", `/api/v1/backups/${button.dataset.remove}`);
        window.location.reload();
      } catch (err) {
        const out = result(button.dataset.remove);
        out.classList.add("error");
        sd.show(out, err.message);
      }
    });
  }
});
