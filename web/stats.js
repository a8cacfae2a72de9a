// The shift's counts as the server keeps them (GET /api/v1/stats): scans by state and lane, the
// last days and each station, and inspection outcomes by reason. Fetched each time the panel
// opens, so it is never stale.

import * as api from "./api.js";
import { $, h, percent, words } from "./dom.js";

const LANES = ["red", "yellow", "green", "none"];
const LANE_HEADS = ["red", "yellow", "green", "no lane"];
const DAYS_SHOWN = 7;
const OUTCOMES = ["nothing_found", "irregularity", "seizure"];

function table(caption, head, rows) {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((cell) => h("th", { scope: "col" }, cell)))),
    h("tbody", {}, ...rows.map(([name, ...cells]) =>
      h("tr", {}, h("th", { scope: "row" }, name), ...cells.map((cell) => h("td", {}, String(cell)))))));
}

const perLane = (counts) => LANES.map((lane) => counts?.[lane] ?? 0);

function render(stats) {
  const states = Object.keys(stats.by_state);
  const days = Object.keys(stats.by_day).sort().reverse();
  return [
    table("Scans by state", ["State", "Scans"], states.map((state) => [words(state), stats.by_state[state]])),
    table("Scans by lane and state", ["Lane", ...states.map(words)],
      LANES.filter((lane) => stats.by_lane[lane]).map((lane) =>
        [LANE_HEADS[LANES.indexOf(lane)], ...states.map((state) => stats.by_lane[lane][state] ?? 0)])),
    table(`Received in the last ${DAYS_SHOWN} days`, ["Day (UTC)", ...LANE_HEADS], days.map((day) => [day, ...perLane(stats.by_day[day])])),
    table("Received by station", ["Station", ...LANE_HEADS],
      Object.entries(stats.by_station).map(([station, counts]) => [station, ...perLane(counts)])),
    // A hit: something found. Random selections' hit rate estimates what the rules miss.
    table("Inspection outcomes by reason", ["Reason", ...OUTCOMES.map(words), "Hit rate"],
      Object.entries(stats.outcomes_by_reason).map(([reason, counts]) => {
        const [nothing, irregularity, seizure] = OUTCOMES.map((outcome) => counts[outcome] ?? 0);
        return [words(reason), nothing, irregularity, seizure, percent((irregularity + seizure) / (nothing + irregularity + seizure))];
      })),
  ];
}

export function installStats({ report }) {
  const dialog = $("stats");
  const body = $("stats-body");
  $("stats-open").addEventListener("click", async () => {
    body.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    dialog.showModal();
    try {
      body.replaceChildren(...render(await api.stats(DAYS_SHOWN)));
    } catch (error) {
      dialog.close();
      report(error, "Could not load the statistics");
    }
  });
}
