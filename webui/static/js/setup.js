// First-run setup: strength meter, create the vault, show the recovery key once.
"use strict";

function strength(passphrase) {
  // A rough estimate: length and variety, less for repeats and common patterns. 0..4.
  if (passphrase.length < 10) return 0;
  let classes = 0;
  for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/]) if (re.test(passphrase)) classes += 1;
  const words = passphrase.trim().split(/[\s\-_.]+/).filter((w) => w.length >= 3).length;
  let bits = passphrase.length * Math.log2(Math.max(10, classes * 20));
  if (/(.)\1{2,}/.test(passphrase)) bits -= 15;
  if (/^(?:password|motdepasse|azerty|qwerty|123456)/i.test(passphrase)) bits -= 40;
  if (words >= 4) bits += 20;
  if (bits < 50) return 1;
  if (bits < 70) return 2;
  if (bits < 95) return 3;
  return 4;
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("setup-form");
  const pass = document.getElementById("passphrase");
  const meter = document.getElementById("strength");
  const label = document.getElementById("strength-text");
  const labels = label.dataset.labels.split("|");
  const error = document.getElementById("setup-error");
  pass.addEventListener("input", () => {
    const score = strength(pass.value);
    meter.value = score;
    label.textContent = labels[score];
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (pass.value.length < 10) return window.selfdata.show(error, error.dataset.short);
    if (pass.value !== document.getElementById("passphrase2").value) {
      return window.selfdata.show(error, error.dataset.mismatch);
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const answer = await window.selfdata.api("POST", "/api/v1/setup", {
        setup_code: document.getElementById("setup-code").value,
        passphrase: pass.value,
      });
      form.reset();
      document.getElementById("step-passphrase").hidden = true;
      const steps = document.querySelectorAll(".steps li");
      steps[0].removeAttribute("aria-current");
      steps[1].setAttribute("aria-current", "step");
      document.getElementById("recovery-key").textContent = answer.recovery_key;
      document.getElementById("step-recovery").hidden = false;
      document.getElementById("recovery-key").focus();
    } catch (err) {
      window.selfdata.show(error, err.message);
      button.disabled = false;
    }
  });
  const saved = document.getElementById("saved");
  const next = document.getElementById("recovery-continue");
  saved.addEventListener("change", () => next.setAttribute("aria-disabled", String(!saved.checked)));
  next.addEventListener("click", (event) => {
    if (!saved.checked) {
      event.preventDefault();
      saved.focus();
    }
  });
});
