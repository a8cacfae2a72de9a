// The officer's part: claim, release, assign (supervisors), decide, record what the inspection found, and the scan's
// history. The buttons follow the
// review rules (decide only on a scan you hold), but the server has the last word: whatever it
// refuses is shown with its own message.

import * as api from "./api.js";
import { $, h, words, timeOfDay, dateTime } from "./dom.js";

export function createReview({ officer, report, changed, decided }) {
  const claimButton = $("claim");
  const releaseButton = $("release");
  const form = $("decision-form");
  const fields = $("decision-fields");
  const assignForm = $("assign-form");
  const outcomeForm = $("outcome-form");
  const outcomeFields = $("outcome-fields");
  let scan = null;
  let busy = false;

  const supervisor = () => ["supervisor", "admin"].includes(officer().role);
  const liveClaim = () => (scan?.claim && Date.parse(scan.claim.until) > Date.now() ? scan.claim : null);
  const mine = () => liveClaim()?.officer === officer().name;

  function stateText() {
    switch (scan.state) {
      case "queued": return "Waiting for a decision.";
      case "decided":
      case "closed": {
        const notes = scan.decision_notes ? ` Notes: “${scan.decision_notes}”` : "";
        const outcomeNotes = scan.outcome_notes ? ` “${scan.outcome_notes}”` : "";
        const outcome = scan.outcome
          ? ` Inspection: ${words(scan.outcome)}, recorded by ${scan.outcome_by}, ${dateTime(scan.outcome_at)}.${outcomeNotes}` : "";
        return `Decided: ${words(scan.decision)}, by ${scan.decided_by}, ${dateTime(scan.decided_at)}.${notes}${outcome}`;
      }
      case "released": return "Released: nothing to check against the declaration.";
      case "failed": return `The analysis failed: ${scan.failure ?? "no reason given"}.`;
      default: return "Being analysed.";
    }
  }

  function render() {
    const claim = liveClaim();
    const queued = scan.state === "queued";
    $("review-state").textContent = stateText();
    $("claim-state").textContent = !queued ? "" : !claim ? "Not claimed."
      : `Claimed by ${mine() ? "you" : claim.officer} until ${timeOfDay(claim.until)}.`;
    claimButton.disabled = busy || !queued || mine();
    releaseButton.disabled = busy || !queued || !claim || !(mine() || supervisor());
    const mayDecide = queued && (mine() || supervisor());
    fields.disabled = busy || !mayDecide;
    form.hidden = !queued;
    $("review-actions").hidden = !queued;
    assignForm.hidden = !queued || !supervisor();
    assignForm.querySelector("button").disabled = busy;
    // Whoever learns what the inspection found records it: no claim is needed once decided.
    outcomeForm.hidden = scan.state !== "decided";
    outcomeFields.disabled = busy;
    $("decision-hint").textContent = mayDecide ? ""
      : claim ? `${claim.officer} holds this scan: only they can decide on it.` : "Claim the scan to decide on it.";
  }

  function auditDetails(entry) {
    const d = entry.details ?? {};
    switch (entry.action) {
      case "received": return `scan ${d.station_scan_id}${d.low_image ? ", dual energy" : ""}`;
      case "analysis_started": return `attempt ${d.attempt}`;
      case "analysed": return (d.models ?? []).map((m) => `${m.name} ${m.version}`).join(", ");
      case "queued":
      case "released": {
        const reasons = (d.reasons ?? []).map(words).join(", ");
        return `${d.lane} lane, risk ${d.risk_score}${reasons ? `: ${reasons}` : ""}`;
      }
      case "decided": return `${words(d.decision)}${d.notes ? `: “${d.notes}”` : ""}`;
      case "claim_released": return d.held_by && d.held_by !== entry.actor ? `held by ${d.held_by}` : "";
      case "claimed": return `until ${timeOfDay(d.until)}${d.taken_from ? `, taken from ${d.taken_from}` : ""}`;
      case "assigned": return `to ${d.to} until ${timeOfDay(d.until)}`;
      case "outcome_recorded": return `${words(d.outcome)}${d.notes ? `: “${d.notes}”` : ""}`;
      default:
        // Whatever else the server records, short enough to read (no digests).
        return Object.entries(d)
          .filter(([, value]) => ["number", "boolean"].includes(typeof value) || (typeof value === "string" && value.length <= 40))
          .map(([key, value]) => `${words(key)} ${value}`).join(", ");
    }
  }

  function history(entries) {
    // Newest first: the last change is what an officer looks for.
    $("audit").replaceChildren(...[...entries].reverse().map((entry) => {
      const moved = entry.previous_state && entry.new_state && entry.previous_state !== entry.new_state
        ? ` (${words(entry.previous_state)} → ${words(entry.new_state)})` : "";
      const details = auditDetails(entry);
      return h("li", { "data-action": entry.action },
        h("time", { datetime: entry.at }, dateTime(entry.at)),
        h("span", {}, h("strong", {}, entry.actor), ` ${words(entry.action)}${moved}${details ? ` — ${details}` : ""}`));
    }));
  }

  /** Runs one action against the server and then `after` (by default: reload the scan); a
   * refusal is shown in the server's words. */
  async function act(run, failure, after = changed) {
    if (!scan || busy) return null;
    const id = scan.id;
    let result = null;
    busy = true;
    render();
    try {
      result = await run(id);
    } catch (error) {
      report(error, failure);
    } finally {
      busy = false;
      if (scan?.id === id) render();
    }
    await after(id, result);
    return result;
  }

  // The shortcuts do what the buttons would, and nothing while a button is disabled.
  const claim = () => !claimButton.disabled && act(api.claim, "Could not claim the scan");
  const release = () => !releaseButton.disabled && act(api.release, "Could not release the scan");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const decision = new FormData(form).get("decision");
    const notes = $("decision-notes").value.trim();
    act((id) => api.decide(id, decision, notes), "Could not record the decision",
      (id, result) => (result ? decided(result) : changed(id)));
  });
  // The names to offer, fetched once when a supervisor first sees the form.
  let names = null;
  async function offerNames() {
    names ??= api.users().then(({ users }) => users.filter((user) => user.active).map((user) => user.name)).catch(() => []);
    $("assign-names").replaceChildren(...(await names).map((name) => h("option", { value: name })));
  }
  assignForm.addEventListener("focusin", offerNames);
  assignForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("assign-officer").value.trim();
    act((id) => api.assign(id, name), "Could not assign the scan", (id, result) => {
      if (result) assignForm.reset();
      return changed(id);
    });
  });
  outcomeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const outcome = new FormData(outcomeForm).get("outcome");
    const notes = $("outcome-notes").value.trim();
    act((id) => api.recordOutcome(id, outcome, notes), "Could not record the outcome");
  });
  claimButton.addEventListener("click", claim);
  releaseButton.addEventListener("click", release);

  return {
    show(next, entries) {
      if (next.id !== scan?.id || next.state !== "queued") form.reset();
      if (next.id !== scan?.id || next.state !== "decided") outcomeForm.reset();
      scan = next;
      render();
      history(entries);
    },
    claim,
    release,
    /** Moves focus to the decision, claiming the scan first when nobody holds it. */
    async decide() {
      if (scan?.state === "queued" && !liveClaim()) await claim();
      if (!fields.disabled) form.querySelector("input[name=decision]").focus();
    },
  };
}
