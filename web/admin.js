// Administration, for admins: officers' accounts, stations' keys and who changed them, and the
// upkeep that would otherwise need the command line on the service's machine (analysing failed
// scans again, deleting old images). Every change asks first when it cannot be undone, and says
// what it did.

import * as api from "./api.js";
import { $, dateTime, h, words } from "./dom.js";

const HOUR_MS = 3_600_000;
const LOG_SHOWN = 12;

/** A `datetime-local` value (the officer's clock) for a time `ms` ago. */
function localInput(ms) {
  const at = new Date(Date.now() - ms);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

const toIso = (localValue) => new Date(localValue).toISOString();

export function installAdmin({ officer }) {
  const dialog = $("admin");

  function say(text, kind = "done") {
    const line = $("admin-result");
    line.textContent = text;
    line.dataset.kind = kind;
    line.hidden = false;
  }

  /** Runs a change; afterwards the tables show what the server now holds. */
  async function change(run, done, question) {
    if (question && !window.confirm(question)) return;
    try {
      const answer = await run();
      say(done(answer));
    } catch (error) {
      say(error.message, "error");
    }
    await refresh();
  }

  const button = (label, onclick) => h("button", { type: "button", onclick }, label);

  function userRow(user) {
    const own = user.name === officer()?.name;
    const disable = () => change(
      () => api.disableUser(user.name), () => `${user.name} is disabled; their sessions have ended.`,
      `Disable ${user.name}? Their sessions end at once.`);
    const enable = () => change(() => api.enableUser(user.name), () => `${user.name} can sign in again, with their old password.`);
    return h("tr", { "data-user": user.name },
      h("td", {}, user.name), h("td", {}, user.role), h("td", {}, user.active ? "active" : "disabled"),
      h("td", {}, user.active ? !own && button("Disable", disable) : button("Enable", enable)));
  }

  function keyRow(key) {
    return h("tr", { "data-key": key.key_id },
      h("td", {}, h("code", {}, key.key_id)), h("td", {}, key.station_id), h("td", {}, dateTime(key.created_at)),
      h("td", {}, key.last_used_at ? dateTime(key.last_used_at) : "never"),
      h("td", {}, key.revoked_at ? `revoked ${dateTime(key.revoked_at)}` : "valid"),
      h("td", {}, !key.revoked_at && button("Revoke", () => change(
        () => api.revokeKey(key.key_id), () => `Key ${key.key_id} of ${key.station_id} is revoked.`,
        `Revoke key ${key.key_id} of ${key.station_id}? The station's uploads with it are refused at once.`))));
  }

  const logRow = (entry) => h("tr", {},
    h("td", {}, dateTime(entry.at)), h("td", {}, entry.actor), h("td", {}, words(entry.action)), h("td", {}, entry.subject));

  async function refresh() {
    try {
      const [{ users }, { keys }, { entries }] = await Promise.all([api.users(), api.stationKeys(), api.accountLog(LOG_SHOWN)]);
      $("admin-users").replaceChildren(...users.map(userRow));
      $("reset-name").replaceChildren(...users.filter((user) => user.active).map((user) => h("option", { value: user.name }, user.name)));
      $("admin-keys").replaceChildren(...keys.map(keyRow));
      $("admin-log").replaceChildren(...entries.map(logRow));
    } catch (error) {
      say(`Could not load the accounts: ${error.message}`, "error");
    }
  }

  $("admin-open").addEventListener("click", () => {
    $("admin-result").hidden = true;
    $("key-created").hidden = true;
    $("reanalyse-since").value ||= localInput(24 * HOUR_MS);
    $("purge-before").value ||= localInput(90 * 24 * HOUR_MS);
    dialog.showModal();
    refresh();
  });

  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [name, role, password] = [$("user-name").value.trim(), $("user-role").value, $("user-password").value];
    change(() => api.addUser(name, role, password), () => {
      $("user-form").reset();
      return `${name} can sign in now, as ${role}.`;
    });
  });

  $("reset-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [name, password] = [$("reset-name").value, $("reset-password").value];
    change(() => api.resetPassword(name, password), () => {
      $("reset-password").value = "";
      return `${name}'s password is set; their sessions have ended. Tell them the new one in person.`;
    }, `Set a new password for ${name}? Their sessions end at once.`);
  });

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    change(() => api.createKey($("key-station").value.trim()), (created) => {
      $("key-created-station").textContent = created.station_id;
      $("key-created-value").textContent = created.key;
      $("key-created").hidden = false;
      $("key-form").reset();
      return `Key ${created.key_id} created: give it to the station now, it is not shown again.`;
    });
  });

  $("reanalyse-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const since = toIso($("reanalyse-since").value);
    change(() => api.reanalyseFailed(since), ({ scans }) =>
      scans.length ? `${scans.length} failed scans wait for analysis again.` : `No scan failed since ${dateTime(since)}.`);
  });

  $("purge-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const before = toIso($("purge-before").value);
    const most = Number($("purge-max").value);
    change(() => api.purgeImages(before, most), ({ scans, files, more }) =>
      `Deleted the images of ${scans} scans (${files} files).${more ? " More are due: delete again." : ""}`,
    `Delete the images and heatmaps of up to ${most} scans settled before ${dateTime(before)}? The records stay; the images cannot be brought back.`);
  });

  return {
    /** Shows the button to admins only; the server refuses the others anyway. */
    showFor: (role) => ($("admin-open").hidden = role !== "admin"),
  };
}
