// Privacy: check the journal, add / approve / refuse answer requests, the contribution.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const sd = window.selfdata;
  wireLedger(sd);
  wireRequests(sd);
  wireContribution(sd);
});

function wireLedger(sd) {
  const button = document.getElementById("verify-ledger");
  if (!button) return;
  const result = document.getElementById("verify-result");
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.classList.remove("error");
    delete result.dataset.ok;
    sd.show(result, button.dataset.working);
    try {
      const verdict = await sd.api("GET", "/api/v1/ledger/verify");
      if (verdict.ok) {
        sd.show(result, sd.format(button.dataset.ok, { entries: verdict.entries, seq: verdict.head.seq }));
      } else {
        result.classList.add("error");
        sd.show(result, sd.format(button.dataset.broken, { seq: verdict.broken_at ?? "?", problem: await sd.say(verdict.problem || "") }));
        const entry = document.getElementById(`entry-${verdict.broken_at}`);
        if (entry) entry.classList.add("broken");
      }
      result.dataset.ok = String(verdict.ok);
    } catch (err) {
      result.classList.add("error");
      sd.show(result, sd.format(button.dataset.failed, { message: err.message }));
    } finally {
      button.disabled = false;
    }
  });
}

function wireRequests(sd) {
  const form = document.getElementById("request-form");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("request-error");
    error.hidden = true;
    const file = form.elements.file.files[0];
    const text = form.elements.text.value.trim() || (file ? (await file.text()).trim() : "");
    if (!text) return sd.show(error, form.dataset.empty);
    let body;
    try { body = JSON.parse(text); } catch (e) { return sd.show(error, form.dataset.badJson); }
    try {
      const shown = await sd.api("POST", "/api/v1/answers", body);
      window.location.assign(`/privacy/answer?request=${shown.id}`);
    } catch (err) {
      sd.show(error, err.message);
    }
  });
  const approve = document.getElementById("approve-request");
  const error = document.getElementById("decision-error");
  if (approve) approve.addEventListener("click", async () => {
    approve.disabled = true;
    try {
      // what the owner saw, echoed: the API refuses if the answer or period changed since
      await sd.api("POST", `/api/v1/answers/${approve.dataset.request}/approve`, {
        answer: approve.dataset.answer === "true",
        period: { start: approve.dataset.start, end: approve.dataset.end },
      });
      window.location.reload();
    } catch (err) {
      sd.show(error, err.status === 409 ? `${error.dataset.changed} (${err.message})` : err.message);
      approve.disabled = false;
    }
  });
  const refuse = document.getElementById("refuse-request");
  if (refuse) refuse.addEventListener("click", async () => {
    if (!window.confirm(refuse.dataset.confirm)) return;
    try {
      await sd.api("POST", `/api/v1/answers/${refuse.dataset.request}/refuse`);
      window.location.reload();
    } catch (err) {
      sd.show(error, err.message);
    }
  });
}

function wireContribution(sd) {
  const form = document.getElementById("contribution-form");
  if (!form) return;
  const result = document.getElementById("contribution-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    result.classList.remove("error");
    try {
      await sd.api("PUT", "/api/v1/contribution/settings", {
        enabled: f.enabled.checked,
        endpoint: f.endpoint.value.trim(),
        area: f.area.value.trim().toUpperCase(),
        meter: f.meter.value.trim() || null,
        epsilon: Number(f.epsilon.value),
        k: parseInt(f.k.value, 10),
        sensitivity_kwh: parseInt(f.sensitivity_kwh.value, 10),
      });
      window.location.reload();
    } catch (err) {
      result.classList.add("error");
      sd.show(result, err.message);
    }
  });
  const sendResult = document.getElementById("send-result");
  const act = (id, run) => {
    const button = document.getElementById(id);
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      sendResult.classList.remove("error");
      try {
        await run(button);
      } catch (err) {
        sendResult.classList.add("error");
        sd.show(sendResult, err.message);
        button.disabled = false;
      }
    });
  };
  act("preview-contribution", async () => {
    await sd.api("POST", "/api/v1/contribution/preview");
    window.location.reload();
  });
  act("discard-contribution", async () => {
    await sd.api("DELETE", "/api/v1/contribution/preview");
    window.location.reload();
  });
  act("send-contribution", async (button) => {
    sd.show(sendResult, button.dataset.working);
    // the previewed payload's hash is the consent: the box sends those bytes or nothing
    await sd.api("POST", "/api/v1/contribution/send", { sha256: button.dataset.sha256 });
    sd.show(sendResult, button.dataset.done);
    sendResult.dataset.sent = "true";
    const discard = document.getElementById("discard-contribution");
    if (discard) discard.disabled = true;
  });
}
