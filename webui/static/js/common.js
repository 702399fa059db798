// selfdata web UI: shared helpers. Served as a static file (the CSP forbids inline script).
"use strict";

window.selfdata = {
  // Calls the JSON API with the session cookie; the browser adds Origin on writes.
  async api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? window.selfdata.say(data.error.message) : response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  },
  // An API message in the page's language when the page brought its translation. Each
  // placeholder's text is strictly shorter than the message, so the recursion ends.
  say(message) {
    const block = document.getElementById("api-messages");
    if (!block) return message;
    const table = JSON.parse(block.textContent);
    if (message in table) return table[message];
    for (const [english, translated] of Object.entries(table)) {
      if (!english.includes("{")) continue;
      const pattern = english.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, "(?<$1>.+?)");
      const found = new RegExp(`^${pattern}$`).exec(message);
      if (found) {
        // a message quoting another ("backup to X failed: <why>") translates both
        const values = {};
        for (const [key, value] of Object.entries(found.groups)) values[key] = window.selfdata.say(value);
        return window.selfdata.format(translated, values);
      }
    }
    return message;
  },
  show(element, text) {
    element.textContent = text;
    element.hidden = false;
  },
  format(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m));
  },
  // Offers bytes the page holds as a file download (no inline handler, no data: URL).
  download(name, parts, type) {
    const url = URL.createObjectURL(new Blob(parts, { type }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const lock = document.getElementById("lock-button");
  if (lock) {
    lock.addEventListener("click", async () => {
      lock.disabled = true;
      try { await window.selfdata.api("POST", "/api/v1/lock"); } finally { window.location.assign(lock.dataset.done); }
    });
  }
  const logout = document.getElementById("logout-button");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await window.selfdata.api("DELETE", "/api/v1/session"); } finally { window.location.assign(logout.dataset.done); }
    });
  }
});
