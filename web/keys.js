// Keyboard shortcuts. One table drives both the handler and the help panel, so the panel always
// lists what the keys really do.

import { $, h } from "./dom.js";

const BINDINGS = [
  { keys: ["j", "ArrowDown"], does: "Open the next scan in the queue", action: "next" },
  { keys: ["k", "ArrowUp"], does: "Open the previous scan in the queue", action: "previous" },
  { keys: ["n"], does: "Claim the next unclaimed scan and open it", action: "claimNext" },
  { keys: ["/"], does: "Find scans by container number (or part of it) or declaration number", action: "find" },
  { keys: ["c"], does: "Claim this scan", action: "claim" },
  { keys: ["r"], does: "Release your claim", action: "release" },
  { keys: ["d"], does: "Decide: claim if nobody holds the scan, then choose the decision", action: "decide" },
  { keys: ["h"], does: "Anomaly heatmap on or off", action: "toggleHeatmap" },
  { keys: ["b"], does: "Boxes on or off: anomaly regions and walls across the hold", action: "toggleBoxes" },
  { keys: ["m"], does: "Material colouring on or off (dual-energy scans)", action: "toggleMaterial" },
  { keys: ["+", "="], does: "Zoom in", action: "zoomIn" },
  { keys: ["-"], does: "Zoom out", action: "zoomOut" },
  { keys: ["0"], does: "Fit the image to the window", action: "fit" },
  { keys: ["1", "2", "3", "4"], does: "Window/level presets", action: "preset" },
  { keys: ["?"], does: "Show this list", action: "help" },
];

const LABELS = { ArrowDown: "↓", ArrowUp: "↑" };

/** Listens for the shortcuts; `actions` maps each binding's action name to a function. */
export function installShortcuts(actions) {
  const help = $("help");
  $("help-keys").replaceChildren(...BINDINGS.map((binding) =>
    h("tr", {},
      h("td", {}, ...binding.keys.flatMap((key, i) => [i ? " " : null, h("kbd", {}, LABELS[key] ?? key)])),
      h("td", {}, binding.does))));

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const target = event.target;
    const typing = target instanceof HTMLElement && (target.isContentEditable || target.matches("input, textarea, select"));
    if (typing) {
      // Esc leaves a field, so that the next key is a shortcut again.
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) target.blur();
      return;
    }
    if (document.querySelector("dialog[open]") || $("console").hidden) return;
    const binding = BINDINGS.find((b) => b.keys.includes(event.key));
    if (!binding) return;
    event.preventDefault();
    if (binding.action === "help") help.showModal();
    else if (binding.action === "preset") actions.preset(Number(event.key) - 1);
    else actions[binding.action]();
  });
  $("help-open").addEventListener("click", () => help.showModal());
}
