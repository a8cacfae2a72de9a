// The officer console: sign-in, then the queue beside the open scan. The open scan lives in the
// address (#/scans/ID) so that reloading, the back button and links keep it.

import * as api from "./api.js";
import { $, debounce, timeOfDay, words } from "./dom.js";
import { createQueue } from "./queue.js";
import { startLive } from "./live.js";
import { createViewer } from "./viewer.js";
import { createDetails } from "./details.js";
import { createReview } from "./review.js";
import { installShortcuts } from "./keys.js";
import { installStats } from "./stats.js";
import { installAdmin } from "./admin.js";
import { installPassword } from "./password.js";
import { IDLE_MINUTES, watchIdle } from "./idle.js";

// The session cookie is HttpOnly: this remembers only whether to ask the server for a session
// on load, so that a first visit goes straight to the sign-in form instead of a refused request.
const SIGNED_IN = "scantriage.signed-in";
const INFO_MS = 20_000;

let officer = null;
let live = null;
let openId = null;
let noticeTimer = null;

function notice(message, { kind = "error", action } = {}) {
  const box = $("notice");
  clearTimeout(noticeTimer);
  box.dataset.kind = kind;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  const text = $("notice-text");
  text.replaceChildren(message);
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = action.label;
    button.addEventListener("click", () => {
      box.hidden = true;
      action.run();
    });
    text.append(" ", button);
  }
  box.hidden = false;
  if (kind !== "error") noticeTimer = setTimeout(() => (box.hidden = true), INFO_MS);
}
$("notice-close").addEventListener("click", () => ($("notice").hidden = true));

/** Shows a failed request in words; an expired session is handled by the sign-in form instead. */
function report(error, context) {
  if (error.status === 401) return;
  // The server writes times as RFC 3339 UTC; officers read their local clock.
  const message = error.message.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, (iso) => timeOfDay(iso));
  notice(`${context}: ${message}`);
}

function showSignIn(message) {
  officer = null;
  // An open dialog is modal: it would hide the form.
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  live?.stop();
  live = null;
  localStorage.removeItem(SIGNED_IN);
  openId = null;
  $("scan-view").hidden = true;
  $("scan-empty").hidden = false;
  $("console").hidden = true;
  $("notice").hidden = true;
  $("signin").hidden = false;
  const text = $("signin-message");
  text.textContent = message ?? "";
  text.hidden = !message;
  $("signin-password").value = "";
  // After an expired session the name is still there: only the password is missing.
  ($("signin-name").value ? $("signin-password") : $("signin-name")).focus();
}

const idle = watchIdle({
  signedIn: () => officer !== null,
  signOut: async () => {
    await api.signOut().catch(() => {});
    showSignIn(`You were signed out after ${IDLE_MINUTES} minutes without activity.`);
  },
  keepAlive: () => checkSession(),
});

api.onSessionExpired(() => {
  if (officer) showSignIn("Your session has expired. Sign in again to go on.");
});

const checkSession = () => api.currentSession().catch(() => {});

const queue = createQueue({ open, officer: () => officer?.name, report });
const viewer = createViewer({ checkSession });
const details = createDetails(await api.goods());
const review = createReview({ officer: () => officer, report, changed: reload, decided });
installStats({ report });
const admin = installAdmin({ officer: () => officer });
installPassword({ done: (text) => notice(text, { kind: "info" }) });

function open(id) {
  const hash = `#/scans/${encodeURIComponent(id)}`;
  if (location.hash === hash) load(id);
  else location.hash = hash;
}

function route() {
  const match = location.hash.match(/^#\/scans\/(.+)$/);
  if (officer && match) load(decodeURIComponent(match[1]));
}
window.addEventListener("hashchange", route);

function show(scan, audit, same) {
  $("scan-empty").hidden = true;
  $("scan-view").hidden = false;
  details.show(scan);
  viewer.show(scan, { same });
  review.show(scan, audit.entries);
  document.title = `${scan.containers} — scantriage`;
}

const fetchScan = (id) => Promise.all([api.scan(id), api.audit(id)]);

async function load(id) {
  openId = id;
  queue.select(id);
  try {
    const [scan, audit] = await fetchScan(id);
    if (openId === id) show(scan, audit, false);
  } catch (error) {
    report(error, "Could not open the scan");
  }
}

/** Reloads the open scan after a change to it, keeping the image as it is. */
async function reload(id) {
  const refreshed = queue.refresh();
  if (id === openId) {
    try {
      const [scan, audit] = await fetchScan(id);
      if (openId === id) show(scan, audit, true);
    } catch (error) {
      report(error, "Could not reload the scan");
    }
  }
  await refreshed;
}

/** After a decision: say so, and go on with the next scan that is free. */
async function decided(scan) {
  const before = queue.entries();
  await queue.refresh();
  notice(`Decision recorded for ${scan.containers}: ${words(scan.decision)}.`, {
    kind: "info",
    action: { label: "Show it again", run: () => open(scan.id) },
  });
  const next = queue.nextAfter(scan.id, before);
  if (next) open(next);
  else await reload(scan.id);
}

async function claimNext() {
  try {
    const scan = await api.claimNext();
    if (!scan) notice("Nothing is waiting in the queue.", { kind: "info" });
    else {
      await queue.refresh();
      if (scan.id === openId) await reload(scan.id);
      else open(scan.id);
    }
  } catch (error) {
    report(error, "Could not claim the next scan");
  }
}

const reloadSoon = debounce(reload, 300);
const refreshSoon = debounce(() => queue.refresh(), 300);

function enter(session) {
  officer = { name: session.name, role: session.role };
  idle.reset();
  localStorage.setItem(SIGNED_IN, "1");
  $("signin").hidden = true;
  $("console").hidden = false;
  $("who").textContent = `${officer.name} · ${officer.role}`;
  admin.showFor(officer.role);
  queue.refresh();
  live = startLive({
    changed: (event) => {
      refreshSoon();
      if (event.scan_id === openId) reloadSoon(openId);
    },
    poll: () => (openId ? reload(openId) : queue.refresh()),
    status: (text, kind) => {
      $("live").textContent = text;
      $("live").dataset.kind = kind;
    },
  });
  route();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  try {
    enter(await api.signIn($("signin-name").value.trim(), $("signin-password").value));
  } catch (error) {
    showSignIn(error.status === 401 ? `Sign-in refused: ${error.message}` : error.message);
  } finally {
    button.disabled = false;
  }
});

$("signout").addEventListener("click", async () => {
  await api.signOut().catch(() => {});
  showSignIn("You have signed out.");
});

$("claim-next").addEventListener("click", claimNext);

installShortcuts({
  next: () => {
    const id = queue.neighbour(1);
    if (id) open(id);
  },
  previous: () => {
    const id = queue.neighbour(-1);
    if (id) open(id);
  },
  claimNext,
  find: queue.find,
  claim: review.claim,
  release: review.release,
  decide: review.decide,
  toggleHeatmap: viewer.toggleHeatmap,
  toggleBoxes: viewer.toggleBoxes,
  toggleMaterial: viewer.toggleMaterial,
  zoomIn: viewer.zoomIn,
  zoomOut: viewer.zoomOut,
  fit: viewer.fit,
  preset: viewer.preset,
});

if (localStorage.getItem(SIGNED_IN)) {
  try {
    enter(await api.currentSession());
  } catch (error) {
    showSignIn(error.status === 401 ? "Your session has expired. Sign in again to go on." : error.message);
  }
} else showSignIn();
