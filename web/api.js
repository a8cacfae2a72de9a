// Calls to the scantriage JSON API (docs/api.md). Every failure becomes an ApiError carrying the
// server's own message, so that the page can show officers what went wrong in words.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let sessionExpired = () => {};

/** Called with the error whenever a request is refused for want of a valid session. */
export function onSessionExpired(handler) {
  sessionExpired = handler;
}

async function request(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "unreachable", "The server cannot be reached. Check the connection and try again.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  throw new ApiError(
    response.status,
    data?.error?.code ?? `http_${response.status}`,
    data?.error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
  );
}

/** A request on behalf of the signed-in officer: a 401 means the session is over. */
async function call(path, options) {
  try {
    return await request(path, options);
  } catch (error) {
    if (error.status === 401) sessionExpired(error);
    throw error;
  }
}

const scanPath = (id) => `/api/v1/scans/${encodeURIComponent(id)}`;

export const signIn = (name, password) => request("/api/v1/session", { method: "POST", body: { name, password } });
export const currentSession = () => call("/api/v1/session");
export const signOut = () => request("/api/v1/session", { method: "DELETE" });
export const changePassword = (current, next) =>
  call("/api/v1/session/password", { method: "PUT", body: { current_password: current, new_password: next } });

export function queue({ lane, state }) {
  const query = new URLSearchParams({ state, limit: "200" });
  if (lane) query.set("lane", lane);
  return call(`/api/v1/queue?${query}`);
}

/** Scans in any state of a declaration, or whose container numbers contain `text`. */
export const findScans = (text) => call(`/api/v1/scans?${new URLSearchParams({ q: text })}`);
export const claimNext = () => call("/api/v1/queue/next", { method: "POST", body: {} });
export const scan = (id) => call(scanPath(id));
export const stats = (days) => call(`/api/v1/stats?days=${days}`);
export const users = () => call("/api/v1/users");
export const addUser = (name, role, password) => call("/api/v1/admin/users", { method: "POST", body: { name, role, password } });
export const disableUser = (name) => call(`/api/v1/admin/users/${encodeURIComponent(name)}`, { method: "DELETE" });
export const enableUser = (name) => call(`/api/v1/admin/users/${encodeURIComponent(name)}/enable`, { method: "POST" });
export const resetPassword = (name, password) =>
  call(`/api/v1/admin/users/${encodeURIComponent(name)}/password`, { method: "PUT", body: { password } });
export const stationKeys = () => call("/api/v1/admin/keys");
export const accountLog = (limit) => call(`/api/v1/admin/account-log?limit=${limit}`);
export const createKey = (station) => call("/api/v1/admin/keys", { method: "POST", body: { station_id: station } });
export const revokeKey = (id) => call(`/api/v1/admin/keys/${encodeURIComponent(id)}`, { method: "DELETE" });
export const reanalyseFailed = (since) => call("/api/v1/admin/reanalyse-failed", { method: "POST", body: { failed_since: since } });
export const purgeImages = (before, maxScans) =>
  call("/api/v1/admin/purge-images", { method: "POST", body: { settled_before: before, max_scans: maxScans } });
export const audit = (id) => call(`${scanPath(id)}/audit`);
export const claim = (id) => call(`${scanPath(id)}/claim`, { method: "POST", body: {} });
export const release = (id) => call(`${scanPath(id)}/release`, { method: "POST" });
export const assign = (id, officer) => call(`${scanPath(id)}/assign`, { method: "POST", body: { officer } });
export const decide = (id, decision, notes) =>
  call(`${scanPath(id)}/decision`, { method: "POST", body: { decision, notes } });
export const recordOutcome = (id, outcome, notes) =>
  call(`${scanPath(id)}/outcome`, { method: "POST", body: { outcome, notes } });

/** The server-rendered view of a scan; `window`/`level` are left to the server's defaults when absent. */
export function imageUrl(id, { mode, window, level }) {
  const query = new URLSearchParams({ mode });
  if (window !== undefined) query.set("window", window.toFixed(1));
  if (level !== undefined) query.set("level", level.toFixed(1));
  return `${scanPath(id)}/image.png?${query}`;
}

export const heatmapUrl = (id) => `${scanPath(id)}/heatmap.png`;

/** The goods taxonomy served with the console: names and HS prefixes per category. */
export async function goods() {
  const response = await fetch("/assets/goods.json");
  if (!response.ok) throw new ApiError(response.status, "goods", "The goods list of the console is missing.");
  return response.json();
}
