// Sources: import any file (its format detected), stream a file into a doctype (with
// upload progress), or keep a file.
"use strict";

function send(method, url, file, onProgress, headers = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", async () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new Error(data && data.error ? await window.selfdata.say(data.error.message) : xhr.statusText));
    });
    xhr.addEventListener("error", () => reject(new Error(xhr.statusText || "network error")));
    xhr.send(file);
  });
}

// The detecting import's report: one row per doctype, then the series, then the records
// left out (the API keeps a sample of them), said in the page's language.
async function showReport(form, report) {
  const sd = window.selfdata;
  const table = document.getElementById("import-any-report");
  const body = table.querySelector("tbody");
  const problems = document.getElementById("import-any-problems");
  const number = new Intl.NumberFormat(document.documentElement.lang);
  body.textContent = "";
  problems.textContent = "";
  for (const [doctype, c] of Object.entries(report.doctypes || {})) {
    const row = body.insertRow();
    row.insertCell().textContent = doctype;
    for (const key of ["created", "updated", "unchanged"]) {
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = number.format(c[key]);
    }
  }
  for (const [series, points] of Object.entries(report.series || {})) {
    const row = body.insertRow();
    row.insertCell().textContent = series;
    const cell = row.insertCell();
    cell.colSpan = 3;
    cell.className = "num";
    cell.textContent = window.selfdata.format(body.dataset.seriesLabel, { points: number.format(points) });
  }
  table.hidden = body.rows.length === 0;
  for (const sample of report.error_samples || []) {
    const item = document.createElement("li");
    item.textContent = sd.format(problems.dataset.problem, { where: await sd.say(sample.where), message: await sd.say(sample.message) });
    problems.appendChild(item);
  }
  for (const note of report.notes || []) {
    const item = document.createElement("li");
    item.textContent = await sd.say(note);
    problems.appendChild(item);
  }
  problems.hidden = problems.children.length === 0;
}

function wireImportAny(sd) {
  const form = document.getElementById("import-any-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    const result = document.getElementById("import-any-result");
    const progress = document.getElementById("import-any-progress");
    const button = form.querySelector("button[type=submit]");
    result.classList.remove("error");
    delete result.dataset.done;
    document.getElementById("import-any-report").hidden = true;
    document.getElementById("import-any-problems").hidden = true;
    progress.hidden = false;
    progress.value = 0;
    button.disabled = true;
    // a sealed selfdata export needs its passphrase: that goes to the archive import
    const passphrase = form.elements.passphrase.value;
    const url = passphrase ? "/api/v1/archive/import" : "/api/v1/import";
    const headers = passphrase ? { "X-Selfdata-Export-Passphrase": passphrase } : {};
    try {
      const report = await send("POST", `${url}?name=${encodeURIComponent(file.name)}`, file, (share) => {
        progress.value = Math.round(share * 100);
        sd.show(result, share < 1 ? sd.format(form.dataset.progress, { percent: `${Math.round(share * 100)} %` }) : form.dataset.working);
      }, headers);
      progress.value = 100;
      sd.show(result, sd.format(form.dataset.done, report));
      result.dataset.done = "true";
      await showReport(form, report);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, sd.format(form.dataset.failed, { message: err.message }));
    } finally {
      progress.hidden = true;
      button.disabled = false;
      form.elements.passphrase.value = "";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  wireImportAny(sd);
  const form = document.getElementById("import-form");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    const result = document.getElementById("import-result");
    const progress = document.getElementById("import-progress");
    result.classList.remove("error");
    progress.hidden = false;
    progress.value = 0;
    const doctype = encodeURIComponent(form.elements.doctype.value.trim());
    const format = form.elements.format.value;
    try {
      const report = await send("POST", `/api/v1/doctypes/${doctype}/import?format=${format}`, file, (share) => {
        progress.value = Math.round(share * 100);
        sd.show(result, sd.format(form.dataset.progress, { percent: `${Math.round(share * 100)} %` }));
      });
      progress.value = 100;
      let text = sd.format(form.dataset.done, report);
      for (const sample of (report.error_samples || []).slice(0, 5)) {
        text += ` · ${sample.line ? "#" + sample.line + ": " : ""}${await sd.say(sample.message)}`;
      }
      sd.show(result, text);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    }
  });
  const upload = document.getElementById("upload-form");
  if (upload) upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = upload.elements.file.files[0];
    const result = document.getElementById("upload-result");
    result.classList.remove("error");
    try {
      await send("POST", `/api/v1/files?name=${encodeURIComponent(file.name)}`, file, () => {});
      sd.show(result, upload.dataset.done);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    }
  });
  wireAccounts(sd);
});

// A run's log lines, each said in the page's language (the API writes them in English).
async function showLog(sd, list, record) {
  const lines = (record.log && record.log.lines) || [];
  const said = await Promise.all(lines.map((line) => sd.sayLine(line.message, list.dataset.pair)));
  list.textContent = "";
  lines.forEach((line, i) => {
    const item = document.createElement("li");
    item.className = `log-${line.level}`;
    item.textContent = `${line.level} · ${said[i]}`;
    list.appendChild(item);
  });
}

function wireAccounts(sd) {
  const add = document.getElementById("account-form");
  if (add) {
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const credentials = {};
      for (const input of add.querySelectorAll("[data-credential]")) {
        if (input.value !== "") credentials[input.name] = input.value;
      }
      try {
        const account = await sd.api("POST", "/api/v1/accounts", {
          connector: add.dataset.connector,
          label: add.elements.label.value,
          schedule: add.elements.schedule.value,
          credentials,
        });
        window.location.assign(`/connectors/source?account=${account.id}`);
      } catch (err) {
        sd.show(document.getElementById("account-error"), err.message);
      }
    });
  }
  const run = document.getElementById("run-now");
  if (run) {
    run.addEventListener("click", async () => {
      const status = document.getElementById("run-status");
      const progress = document.getElementById("run-progress");
      const log = document.getElementById("run-log");
      run.disabled = true;
      progress.hidden = false;
      progress.removeAttribute("value");
      sd.show(status, run.dataset.running);
      try {
        let record = await sd.api("POST", `/api/v1/accounts/${run.dataset.account}/run`);
        // live progress: poll the run until it has ended
        while (record.status === "running" || record.status === "queued") {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          record = await sd.api("GET", `/api/v1/runs/${record.id}`);
          const p = record.progress || {};
          if (p.total) { progress.max = p.total; progress.value = p.done || 0; }
          await showLog(sd, log, record);
        }
        await showLog(sd, log, record);
        progress.hidden = true;
        const labels = JSON.parse(document.getElementById("outcome-labels").textContent);
        const outcome = record.outcome || record.status;
        sd.show(status, sd.format(run.dataset.done, { outcome: labels[outcome] || outcome, message: await sd.say(record.message || "") }));
        status.dataset.outcome = record.outcome || record.status;
      } catch (err) {
        status.classList.add("error");
        sd.show(status, err.message);
      } finally {
        run.disabled = false;
      }
    });
  }
  const edit = document.getElementById("edit-form");
  if (edit) {
    edit.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = document.getElementById("edit-result");
      result.classList.remove("error");
      const credentials = {};
      for (const input of edit.querySelectorAll("[data-credential]")) {
        // a secret left empty is kept; a plain field emptied is cleared
        if (!("secret" in input.dataset) || input.value !== "") credentials[input.name] = input.value;
      }
      try {
        await sd.api("PATCH", `/api/v1/accounts/${edit.dataset.account}`, {
          label: edit.elements.label.value,
          schedule: edit.elements.schedule.value,
          enabled: edit.elements.enabled.checked,
          credentials,
        });
        window.location.reload();
      } catch (err) {
        result.classList.add("error");
        sd.show(result, err.message);
      }
    });
  }
  const remove = document.getElementById("remove-source");
  if (remove) {
    remove.addEventListener("click", async () => {
      if (!window.confirm(remove.dataset.confirm)) return;
      try {
        await sd.api("DELETE", `/api/v1/accounts/${remove.dataset.account}`);
        window.location.assign("/connectors");
      } catch (err) {
        sd.show(document.getElementById("source-error"), err.message);
      }
    });
  }
}
