// Settings: passphrase change, recovery key check and renewal.
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
});
