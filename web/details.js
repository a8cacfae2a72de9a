// What the models saw against what was declared, and why the scan was flagged. Mismatches are
// marked from the verdict's own reasons, so the page highlights exactly what triage counted.

import { $, h, words, percent, tonnes, dateTime } from "./dom.js";

export function createDetails(goods) {
  const categories = new Map(goods.categories.map((category) => [category.id, category]));
  const nameOf = (id) => categories.get(id)?.name ?? words(id);

  /** The category an HS code declares: the longest matching prefix, as triage decides it. */
  function categoryOf(hsCode) {
    const digits = String(hsCode).replace(/\D/g, "");
    let best = null;
    for (const category of goods.categories) {
      for (const prefix of category.hs_prefixes) {
        if (digits.startsWith(prefix) && prefix.length > (best?.prefix.length ?? 0)) best = { id: category.id, prefix };
      }
    }
    return best?.id ?? null;
  }

  /** The verdict's reasons as sets of what each one points at. */
  function mismatches(reasons) {
    const found = { undeclared: new Set(), notSeen: new Set(), unknownHs: new Set(), emptyButLoaded: false, weight: false };
    for (const { code, evidence } of reasons) {
      if (code === "undeclared_goods") found.undeclared.add(evidence?.category);
      if (code === "declared_goods_not_seen") found.notSeen.add(evidence?.category);
      if (code === "unknown_hs_code") found.unknownHs.add(evidence?.hs_code);
      if (code === "declared_empty_but_loaded") found.emptyButLoaded = true;
      if (code === "weight_mismatch") found.weight = true;
    }
    return found;
  }

  const tag = (text, kind = "bad") => h("span", { class: `tag ${kind}` }, text);

  function header(scan) {
    const lane = $("scan-lane");
    lane.className = `lane lane-${scan.lane ?? "none"}`;
    lane.textContent = scan.lane ? `${scan.lane} ${scan.risk_score}` : words(scan.state);
    lane.setAttribute("aria-label", scan.lane ? `${scan.lane} lane, risk score ${scan.risk_score} of 100` : words(scan.state));
    $("scan-title").textContent = scan.containers;
    $("scan-sub").textContent = [
      scan.station_id, `scan ${scan.station_scan_id}`, `received ${dateTime(scan.received_at)}`, words(scan.state),
    ].join(" · ");
  }

  function reasons(scan) {
    const list = [...(scan.verdict?.reasons ?? [])].sort((a, b) => b.points - a.points);
    $("risk").textContent = scan.verdict
      ? `Risk ${scan.verdict.risk_score} of 100: ${list.length ? `${list.length} reason${list.length === 1 ? "" : "s"}` : "nothing found against the declaration"}.`
      : scan.failure ? `The analysis failed: ${scan.failure}` : "Not analysed yet.";
    $("reasons").replaceChildren(...list.map((reason) =>
      h("li", {},
        h("span", { class: "points", title: "points towards the risk score" }, `+${reason.points}`),
        h("span", { class: "sentence" }, reason.sentence),
        h("span", { class: "code" }, words(reason.code)))));
  }

  function facts(scan) {
    const analysis = scan.analysis;
    const declaration = scan.metadata?.declaration ?? {};
    const rows = [
      ["Declaration", declaration.number],
      ["Declarant", declaration.declarant],
      ["Containers", (scan.metadata?.containers ?? []).map((c) => `${c.number} (${c.iso_type})`).join(", ")],
      ["Captured", scan.metadata?.captured_at && dateTime(scan.metadata.captured_at)],
      ["Scanner", analysis && `${analysis.image.dual_energy ? "dual" : "single"} energy, ${analysis.image.width} × ${analysis.image.height} px`],
      ["Anomaly", analysis && `${analysis.anomaly_score.toFixed(2)} (flagged above ${analysis.anomaly_threshold.toFixed(2)})`],
    ].filter(([, value]) => value);
    $("facts").replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  }

  function seen(scan, found, declared) {
    const composition = [...(scan.analysis?.composition ?? [])].sort((a, b) => b.share - a.share);
    const items = composition.map((c) => {
      const bad = found.undeclared.has(c.category) || found.emptyButLoaded;
      return h("li", { class: bad ? "mismatch" : null },
        h("span", { class: "what" }, nameOf(c.category)),
        h("span", { class: "share" }, percent(c.share)),
        h("meter", { min: 0, max: 1, value: c.share, "aria-label": `${percent(c.share)} of the load` }),
        h("span", { class: "detail" }, `confidence ${percent(c.confidence)}`),
        bad ? tag("not declared") : declared.has(c.category) ? tag("declared", "good") : null);
    });
    if (!scan.analysis) items.push(h("li", { class: "muted" }, "No analysis yet."));
    else if (!composition.length) items.push(h("li", {}, h("span", { class: "what" }, "No goods: the container looks empty")));
    $("seen").replaceChildren(...items);
  }

  function declaredItems(scan, found) {
    const declaration = scan.metadata?.declaration ?? {};
    if (declaration.empty || !(declaration.items ?? []).length) {
      $("declared").replaceChildren(h("li", { class: found.emptyButLoaded ? "mismatch" : null },
        h("span", { class: "what" }, "Declared empty"),
        found.emptyButLoaded ? tag("but loaded") : null));
      return;
    }
    $("declared").replaceChildren(...declaration.items.map((item) => {
      const category = categoryOf(item.hs_code);
      const notSeen = found.notSeen.has(category);
      const unknown = found.unknownHs.has(item.hs_code) || !category;
      return h("li", { class: notSeen || unknown ? "mismatch" : null },
        h("span", { class: "what" }, item.description),
        h("span", { class: "detail" }, `HS ${item.hs_code} · ${category ? nameOf(category) : "not in the goods list"}`),
        h("span", { class: "detail" }, `${item.quantity} ${item.unit} · ${tonnes(item.gross_weight_kg)}${item.container ? ` · in ${item.container}` : ""}`),
        notSeen ? tag("not seen in the image") : null,
        unknown ? tag("cannot be checked", "warn") : null);
    }));
  }

  function mass(scan, found) {
    const paragraph = $("mass");
    const analysis = scan.analysis;
    if (!analysis) {
      paragraph.replaceChildren();
      return;
    }
    const declared = (scan.metadata?.declaration?.items ?? []).reduce((sum, item) => sum + item.gross_weight_kg, 0);
    paragraph.className = found.weight ? "mass mismatch" : "mass";
    paragraph.replaceChildren(`The image weighs about ${tonnes(analysis.cargo_mass_kg)}; declared ${tonnes(declared)}. `);
    if (found.weight) paragraph.append(tag("weight mismatch"));
  }

  return {
    show(scan) {
      const found = mismatches(scan.verdict?.reasons ?? []);
      const declared = new Set((scan.metadata?.declaration?.items ?? []).map((item) => categoryOf(item.hs_code)));
      header(scan);
      reasons(scan);
      facts(scan);
      seen(scan, found, declared);
      declaredItems(scan, found);
      mass(scan, found);
    },
  };
}
