// Settings: passphrase change, recovery key check and renewal, unattended unlock.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  const pass = document.getElementById("passphrase-form");
  pass.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = document.getElementById("passphrase-result");
    result.classList.remove("error");
    try {
      await sd.api("POST", "/api/v1/passphrase", {
        old_passphrase: pass.elements.old_passphrase.value,
        new_passphrase: pass.elements.new_passphrase.value,
      });
      pass.reset();
      sd.show(result, pass.dataset.done);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    }
  });
  const check = document.getElementById("check-form");
  check.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = document.getElementById("check-result");
    result.classList.remove("error");
    try {
      await sd.api("POST", "/settings/recovery-key/check", { recovery_key: check.elements.recovery_key.value });
      sd.show(result, check.dataset.ok);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    }
  });
  const regen = document.getElementById("regenerate-form");
  regen.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("regenerate-error");
    error.hidden = true;
    try {
      const answer = await sd.api("POST", "/api/v1/recovery-key", { passphrase: regen.elements.passphrase.value });
      regen.reset();
      document.getElementById("new-key-value").textContent = answer.recovery_key;
      document.getElementById("new-key").hidden = false;
      document.getElementById("new-key-value").focus();
    } catch (err) {
      sd.show(error, err.message);
    }
  });
  const unattended = document.getElementById("unattended-form");
  unattended.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("unattended-error");
    error.hidden = true;
    try {
      const answer = await sd.api("POST", "/api/v1/unattended", {
        passphrase: unattended.elements.passphrase.value,
        path: unattended.elements.path.value,
      });
      unattended.reset();
      unattended.elements.path.value = answer.path;
      sd.download("selfdata.key", [answer.key_file], "text/plain");
      const done = document.getElementById("unattended-done");
      sd.show(done, sd.format(unattended.dataset.done, { path: answer.path }));
      document.getElementById("unattended-state").textContent = sd.format(unattended.dataset.on, { path: answer.path });
      unattended.querySelector("button[type=submit]").textContent = unattended.dataset.renew;
      done.focus();
    } catch (err) {
      sd.show(error, err.message);
    }
  });
  const off = document.getElementById("unattended-off");
  if (off) {
    off.addEventListener("click", async () => {
      const error = document.getElementById("unattended-error");
      error.hidden = true;
      try {
        await sd.api("DELETE", "/api/v1/unattended");
        window.location.assign("/settings#unattended");
        window.location.reload();
      } catch (err) {
        sd.show(error, err.message);
      }
    });
  }
});
