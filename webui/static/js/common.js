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
      const message = data && data.error ? await window.selfdata.say(data.error.message) : response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  },
  // An API message (always English) in the page's language: matched against the API's
  // templates (webui/messages.py does the same on the server), fetched once, when a page
  // first has a message to say. A message quoting another translates both; a value that
  // matches nothing stays as it is, and so does a message when the templates are missing.
  async say(message) {
    const table = await window.selfdata.apiMessages();
    return table ? window.selfdata.translate(table, String(message)) : message;
  },
  apiMessages() {
    const meta = document.querySelector("meta[name=selfdata-api-messages]");
    if (!meta) return Promise.resolve(null);
    const url = meta.content;
    if (!this.loading) {
      this.loading = fetch(url, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((table) => {
          if (table) {
            table.patterns = table.templates.map(([english]) => new RegExp(
              `^${english.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&").replace(/\\\{([A-Za-z_]\w*)\\\}/g, "(?<$1>.+?)")}$`, "s"));
          }
          return table;
        })
        .catch(() => null);
      this.loading.then((table) => { if (!table) this.loading = null; });  // try again later
    }
    return this.loading;
  },
  // A run's log line: as say(), unless it is "where: message" (a record left out) whose
  // two parts' templates say more of it than the line's own ("line {n}" would take all of
  // "line 3: a bad date"): then both are said, joined by `pair` (the page's "{where}:
  // {message}"), as webui/messages.py's say_line does.
  async sayLine(line, pair) {
    const table = await window.selfdata.apiMessages();
    const text = String(line);
    if (!table) return text;
    const sd = window.selfdata;
    const at = text.indexOf(": ");
    if (at >= 0) {
      const [where, message] = [text.slice(0, at), text.slice(at + 2)];
      if (sd.literal(table, where) + sd.literal(table, message) > sd.literal(table, text)) {
        return sd.format(pair || "{where}: {message}", { where: sd.translate(table, where), message: sd.translateValue(table, message) });
      }
    }
    return sd.translate(table, text);
  },
  // The template a message matches: [english, translated, values], or null.
  template(table, message) {
    if (Object.hasOwn(table.exact, message)) return [message, table.exact[message], {}];
    for (const [i, [english, translated]] of table.templates.entries()) {
      const found = table.patterns[i].exec(message);
      if (found) return [english, translated, found.groups];
    }
    return null;
  },
  // How much of a message its template says in words (0: none matches).
  literal(table, message) {
    const found = window.selfdata.template(table, message);
    return found ? found[0].replace(/\{[A-Za-z_]\w*\}/g, "").length : 0;
  },
  // Templates come most specific first; each value is shorter than the message it is in.
  translate(table, message) {
    const found = window.selfdata.template(table, message);
    if (!found) return message;
    const values = {};
    for (const [key, value] of Object.entries(found[2])) values[key] = window.selfdata.translateValue(table, value);
    return window.selfdata.format(found[1], values);
  },
  // A value in a message; one that matches nothing but is a list ("a; b") has each item said.
  translateValue(table, value) {
    const said = window.selfdata.translate(table, value);
    if (said !== value || !value.includes("; ")) return said;
    return value.split("; ").map((item) => window.selfdata.translate(table, item)).join("; ");
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
