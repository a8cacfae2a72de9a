// The risk queue down the side: highest risk first, as the server orders it, refreshed whenever
// something changes and re-rendered every half minute so that ages stay true. Typing part of a
// container number, or a declaration's number, lists those scans in any state instead.

import * as api from "./api.js";
import { $, h, age, debounce, timeOfDay, words } from "./dom.js";

/** Characters typed that start a search. */
const SEARCH_FROM = 4;

export function createQueue({ open, officer, report }) {
  const list = $("queue-list");
  const lane = $("queue-lane");
  const state = $("queue-state");
  const search = $("queue-search");
  let entries = [];
  let current = null;
  let loading = null;
  let again = false;

  const live = (claim) => claim && Date.parse(claim.until) > Date.now();
  const heldByOther = (entry) => live(entry.claim) && entry.claim.officer !== officer();

  function claimText(claim) {
    if (!live(claim)) return null;
    return claim.officer === officer() ? "claimed by you" : `claimed by ${claim.officer}`;
  }

  function item(entry) {
    const claimed = claimText(entry.claim);
    const laneName = entry.lane ?? "no lane";
    const label = [
      `${laneName} lane`, entry.risk_score !== null ? `risk ${entry.risk_score}` : null, entry.containers,
      entry.declared_goods || "declared empty", entry.station_id, `received ${age(entry.received_at)} ago`, claimed,
    ].filter(Boolean).join(", ");
    return h("li", {},
      h("button", {
        type: "button", class: `entry lane-${entry.lane ?? "none"}`, "data-id": entry.id, "aria-label": label,
        "aria-current": entry.id === current ? "true" : null,
        title: claimed ? `${claimed} until ${timeOfDay(entry.claim.until)}` : null,
        onclick: () => open(entry.id),
      },
      h("span", { class: "score" }, entry.risk_score ?? "–"),
      h("span", { class: "lane-tag" }, laneName),
      h("span", { class: "container" }, entry.containers),
      h("span", { class: "age" }, age(entry.received_at)),
      h("span", { class: "goods" }, entry.declared_goods || "declared empty"),
      h("span", { class: "station" }, searched() ? `${entry.station_id} · ${words(entry.state)}` : entry.station_id),
      claimed ? h("span", { class: `holder${entry.claim.officer === officer() ? " mine" : ""}` }, claimed) : null,
      entry.reasons?.length ? h("span", { class: "codes" }, [...new Set(entry.reasons)].map(words).join(" · ")) : null));
  }

  function render() {
    const focused = document.activeElement?.closest?.("#queue-list [data-id]")?.dataset.id;
    list.replaceChildren(...entries.map(item));
    $("queue-count").textContent = `(${entries.length})`;
    $("queue-empty").hidden = entries.length > 0;
    if (focused) list.querySelector(`[data-id="${CSS.escape(focused)}"]`)?.focus();
  }

  /** The text searched for, or "" for the queue. */
  function searched() {
    const text = search.value.trim();
    return text.length >= SEARCH_FROM ? text : "";
  }

  async function load() {
    const fragment = searched();
    lane.disabled = state.disabled = Boolean(fragment);
    try {
      const answer = fragment ? await api.findScans(fragment) : await api.queue({ lane: lane.value, state: state.value });
      if (fragment !== searched()) return;
      entries = answer.entries;
      render();
    } catch (error) {
      report(error, "The queue could not be loaded");
    }
  }

  /** Reloads the queue; calls arriving during a load are folded into one more load after it. */
  async function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = load();
    await loading;
    loading = null;
    if (again) {
      again = false;
      await refresh();
    }
  }

  search.addEventListener("input", debounce(refresh, 250));
  lane.addEventListener("change", refresh);
  state.addEventListener("change", refresh);
  setInterval(render, 30_000);

  return {
    refresh,
    find: () => search.focus(),
    select(id) {
      current = id;
      for (const button of list.querySelectorAll("[data-id]")) {
        if (button.dataset.id === id) {
          button.setAttribute("aria-current", "true");
          button.scrollIntoView({ block: "nearest" });
        } else button.removeAttribute("aria-current");
      }
    },
    /** The id `step` places away from the open scan, or the first when none is open. */
    neighbour(step) {
      const index = entries.findIndex((entry) => entry.id === current);
      if (index < 0) return entries[0]?.id ?? null;
      return entries[index + step]?.id ?? null;
    },
    /** After a decision on `id`: the first scan below it in the list as it was (else above it)
     * that is still waiting and nobody else holds. */
    nextAfter(id, before) {
      const waiting = new Map(entries.map((entry) => [entry.id, entry]));
      const position = before.findIndex((entry) => entry.id === id);
      const ordered = [...before.slice(position + 1), ...before.slice(0, Math.max(position, 0)).reverse()];
      const free = (entry) => entry && entry.id !== id && !heldByOther(entry);
      return ordered.map((entry) => waiting.get(entry.id)).find(free)?.id ?? entries.find(free)?.id ?? null;
    },
    entries: () => entries,
  };
}
