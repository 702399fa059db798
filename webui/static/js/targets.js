// Backup target fields (templates/_target.html): show the chosen kind's, build the API body.
"use strict";

window.selfdata.targets = {
  // The fieldsets of the other kinds are disabled as well as hidden, so the browser
  // neither checks nor sends them.
  wire(form) {
    const update = () => {
      const kind = form.elements.kind.value;
      for (const set of form.querySelectorAll("fieldset[data-kind]")) {
        const on = set.dataset.kind === kind;
        set.hidden = !on;
        set.disabled = !on;
      }
    };
    for (const radio of form.querySelectorAll("[data-kind-choice]")) radio.addEventListener("change", update);
    update();
  },
  // {url, options, secrets}, as PUT /api/v1/backups/{name} and POST /api/v1/restore take them.
  body(form) {
    const f = form.elements;
    const v = (name) => (f[name] ? f[name].value.trim() : "");
    const kind = f.kind.value;
    if (kind === "sftp") {
      const host = v("sftp_host").includes(":") ? `[${v("sftp_host")}]` : v("sftp_host");
      const port = v("sftp_port") ? `:${v("sftp_port")}` : "";
      const secrets = {};
      if (f.ssh_key.value.trim()) secrets.ssh_key = f.ssh_key.value.trim() + "\n";
      if (f.password.value) secrets.password = f.password.value;
      return {
        url: `sftp://${encodeURIComponent(v("sftp_user"))}@${host}${port}${v("sftp_path")}`,
        options: { host_key: v("host_key") },
        secrets,
      };
    }
    if (kind === "s3") {
      const options = { access_key: v("access_key") };
      if (v("endpoint")) options.endpoint = v("endpoint");
      if (v("region")) options.region = v("region");
      const prefix = v("prefix").replace(/^\/+|\/+$/g, "");
      return { url: `s3://${v("bucket")}${prefix ? "/" + prefix : ""}`, options, secrets: { secret_key: f.secret_key.value } };
    }
    return { url: v("path"), options: {}, secrets: {} };
  },
};
