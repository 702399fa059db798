// Data browser: delete a document (after confirmation).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("delete-doc");
  if (!button) return;
  button.addEventListener("click", async () => {
    if (!window.confirm(button.dataset.confirm)) return;
    try {
      await window.selfdata.api("DELETE", button.dataset.url);
      window.location.assign(button.dataset.done);
    } catch (err) {
      window.selfdata.show(document.getElementById("delete-error"), err.message);
    }
  });
});
