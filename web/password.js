// Officers change their own password: the current one first, the new one twice. The server
// ends the officer's other sessions; this one goes on.

import * as api from "./api.js";
import { $ } from "./dom.js";

export function installPassword({ done }) {
  const dialog = $("password");
  const form = $("password-form");

  function refuse(text) {
    const message = $("password-message");
    message.textContent = text;
    message.hidden = false;
  }

  $("password-open").addEventListener("click", () => {
    form.reset();
    $("password-message").hidden = true;
    dialog.showModal();
    $("password-current").focus();
  });
  $("password-cancel").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [current, next, repeated] = ["password-current", "password-new", "password-repeat"].map((id) => $(id).value);
    if (next !== repeated) return refuse("The two new passwords differ.");
    const button = event.submitter;
    button.disabled = true;
    try {
      await api.changePassword(current, next);
      dialog.close();
      done("Your password is changed. Your other sessions have ended.");
    } catch (error) {
      refuse(error.message);
    } finally {
      button.disabled = false;
    }
  });
}
