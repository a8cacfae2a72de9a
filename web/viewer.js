// The X-ray image: zoom and pan are CSS transforms on one stage holding the image, the heatmap
// and the region boxes, so they move together and nothing is fetched again; window/level and
// material colouring are rendered by the server, so changing them fetches a new image (once the
// officer stops dragging a slider) and swaps it in only when it has arrived.

import * as api from "./api.js";
import { $, h, dateTime, debounce } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
/** Window/level presets over log-attenuation: the first is the server's default view. */
const PRESETS = [
  { name: "Whole range", level: 3, width: 6 },
  { name: "Light goods", level: 1, width: 2 },
  { name: "Medium goods", level: 2.5, width: 3 },
  { name: "Dense goods", level: 5, width: 4 },
];
const MAX_SCALE = 16;
const STEP = 1.25;
/** Above this magnification every pixel shows as a square instead of a blur. */
const PIXELATED_FROM = 3;

export function createViewer({ checkSession }) {
  const viewport = $("viewport");
  const stage = $("stage");
  const xray = $("xray");
  const heatmap = $("heatmap");
  const regions = $("regions");
  const status = $("image-status");
  const level = $("wl-level");
  const width = $("wl-width");
  const preset = $("wl-preset");
  const buttons = { heatmap: $("toggle-heatmap"), boxes: $("toggle-boxes"), material: $("toggle-material") };

  // What the officer chose stays from one scan to the next; the scan's own state does not.
  const view = { heatmap: false, boxes: true, material: false, level: PRESETS[0].level, width: PRESETS[0].width };
  let scan = null;
  let size = { width: 0, height: 0 };
  let scale = 1, tx = 0, ty = 0, fitted = true;
  let drag = null;
  let wanted = "";

  preset.replaceChildren(
    ...PRESETS.map((p, i) => h("option", { value: i }, `${p.name} (${i + 1})`)),
    h("option", { value: "custom", disabled: true }, "Custom"));

  const dualEnergy = () => Boolean(scan?.analysis?.image?.dual_energy);

  function fitScale() {
    return Math.min(viewport.clientWidth / size.width, viewport.clientHeight / size.height) || 1;
  }

  /** Keeps the image on screen: centred along an axis where it is smaller than the viewport. */
  function clamp() {
    const [vw, vh] = [viewport.clientWidth, viewport.clientHeight];
    const [sw, sh] = [size.width * scale, size.height * scale];
    tx = sw <= vw ? (vw - sw) / 2 : Math.min(0, Math.max(vw - sw, tx));
    ty = sh <= vh ? (vh - sh) / 2 : Math.min(0, Math.max(vh - sh, ty));
  }

  function apply() {
    clamp();
    stage.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
    stage.classList.toggle("pixelated", scale >= PIXELATED_FROM);
    $("zoom-level").textContent = `${Math.round(scale * 100)} %`;
  }

  function zoomAt(factor, x = viewport.clientWidth / 2, y = viewport.clientHeight / 2) {
    if (!size.width) return;
    const min = Math.min(fitScale(), 1) / 2;
    const next = Math.min(MAX_SCALE, Math.max(min, scale * factor));
    tx = x - ((x - tx) * next) / scale;
    ty = y - ((y - ty) * next) / scale;
    scale = next;
    fitted = false;
    stage.classList.add("smooth");
    apply();
  }

  function fit() {
    if (!size.width) return;
    scale = fitScale();
    fitted = true;
    stage.classList.add("smooth");
    apply();
  }

  function imageQuery() {
    const mode = view.material && dualEnergy() ? "material" : "gray";
    const standard = view.level === PRESETS[0].level && view.width === PRESETS[0].width;
    return standard ? { mode } : { mode, level: view.level, window: view.width };
  }

  /** Fetches the view the controls ask for and shows it once decoded; a newer request wins. */
  async function render() {
    if (!scan) return;
    if (scan.images_purged_at) {
      status.textContent = `The images were deleted on ${dateTime(scan.images_purged_at)} under the retention policy; the verdict, decisions and audit log are kept.`;
      status.hidden = false;
      return;
    }
    const url = api.imageUrl(scan.id, imageQuery());
    if (url === wanted) return;
    wanted = url;
    status.textContent = "Rendering the image…";
    status.hidden = false;
    viewport.setAttribute("aria-busy", "true");
    const next = new Image();
    next.src = url;
    try {
      await next.decode();
    } catch {
      if (wanted !== url) return;
      status.textContent = "The image could not be loaded.";
      viewport.removeAttribute("aria-busy");
      checkSession();
      return;
    }
    if (wanted !== url) return;
    const first = size.width !== next.naturalWidth || size.height !== next.naturalHeight;
    xray.src = url;
    size = { width: next.naturalWidth, height: next.naturalHeight };
    stage.style.width = `${size.width}px`;
    stage.style.height = `${size.height}px`;
    status.hidden = true;
    viewport.removeAttribute("aria-busy");
    if (first) fit();
  }
  const renderSoon = debounce(render, 250);

  /** Walls across a hold that the analysis found, where a false wall would stand. */
  const walls = (analysis) => (analysis?.containers ?? []).flatMap((container) => container.partitions ?? []);

  function drawRegions() {
    const image = scan?.analysis?.image;
    regions.replaceChildren();
    if (!image) return;
    regions.setAttribute("viewBox", `0 0 ${image.width} ${image.height}`);
    const mark = ({ x0, y0, x1, y1 }, text, kind) => {
      const rect = document.createElementNS(SVG, "rect");
      for (const [name, value] of Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 })) rect.setAttribute(name, value);
      rect.setAttribute("class", kind);
      const title = document.createElementNS(SVG, "title");
      title.textContent = text;
      rect.append(title);
      regions.append(rect);
    };
    for (const region of scan.analysis.anomaly_regions ?? []) mark(region.box, `Anomaly score ${region.score.toFixed(2)}`, "anomaly");
    for (const wall of walls(scan.analysis)) {
      mark(wall.box, `Wall across the hold ${(wall.from_end_mm / 1000).toFixed(2)} m from its end: a possible false wall`, "partition");
    }
  }

  function showToggles() {
    const purged = Boolean(scan?.images_purged_at);
    const material = dualEnergy() && !purged;
    buttons.material.disabled = !material;
    buttons.material.title = purged ? "The images were deleted"
      : material ? "Dual-energy material colouring" : "Single-energy scan: no material colouring";
    buttons.heatmap.disabled = !scan?.analysis || purged;
    for (const [name, button] of Object.entries(buttons)) {
      button.setAttribute("aria-pressed", String(view[name] && !button.disabled));
    }
    heatmap.hidden = !view.heatmap || buttons.heatmap.disabled;
    if (!heatmap.hidden && !heatmap.getAttribute("src")) heatmap.src = api.heatmapUrl(scan.id);
    regions.style.display = view.boxes ? "" : "none";
    $("material-legend").hidden = !(view.material && material);
  }

  function showWindow() {
    level.value = view.level;
    width.value = view.width;
    $("level-value").textContent = view.level.toFixed(1);
    $("width-value").textContent = view.width.toFixed(1);
    const index = PRESETS.findIndex((p) => p.level === view.level && p.width === view.width);
    preset.value = index < 0 ? "custom" : String(index);
  }

  function describe() {
    const count = scan.analysis?.anomaly_regions?.length ?? 0;
    const wallCount = walls(scan.analysis).length;
    viewport.setAttribute("aria-label",
      `X-ray image of ${scan.containers}${count ? `, ${count} anomaly region${count === 1 ? "" : "s"} marked` : ""}` +
      `${wallCount ? `, ${wallCount} wall${wallCount === 1 ? "" : "s"} across the hold marked` : ""}. ` +
      "Zoom with plus and minus or the mouse wheel; pan with the arrow keys or by dragging.");
  }

  // Zoom towards the pointer; a wheel notch is about one button step.
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? viewport.clientHeight : 1;
    const box = viewport.getBoundingClientRect();
    zoomAt(Math.exp((-event.deltaY * unit) / 450), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  viewport.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    viewport.setPointerCapture(event.pointerId);
    drag = { x: event.clientX, y: event.clientY, tx, ty };
    stage.classList.remove("smooth");
    viewport.classList.add("dragging");
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    tx = drag.tx + event.clientX - drag.x;
    ty = drag.ty + event.clientY - drag.y;
    fitted = false;
    apply();
  });
  const endDrag = () => {
    drag = null;
    viewport.classList.remove("dragging");
  };
  viewport.addEventListener("pointerup", endDrag);
  viewport.addEventListener("pointercancel", endDrag);
  viewport.addEventListener("dblclick", (event) => {
    const box = viewport.getBoundingClientRect();
    zoomAt(2, event.clientX - box.left, event.clientY - box.top);
  });
  viewport.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[event.key];
    if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    event.stopPropagation();
    tx += step[0] * viewport.clientWidth * 0.2;
    ty += step[1] * viewport.clientHeight * 0.2;
    fitted = false;
    stage.classList.add("smooth");
    apply();
  });
  new ResizeObserver(() => (fitted ? fit() : apply())).observe(viewport);

  function setWindow(next) {
    Object.assign(view, next);
    showWindow();
    renderSoon();
  }
  level.addEventListener("input", () => setWindow({ level: Number(level.value) }));
  width.addEventListener("input", () => setWindow({ width: Number(width.value) }));
  preset.addEventListener("change", () => choosePreset(Number(preset.value)));

  function choosePreset(index) {
    const chosen = PRESETS[index];
    if (chosen) setWindow({ level: chosen.level, width: chosen.width });
  }

  const toggle = (name) => () => {
    if (buttons[name].disabled) return;
    view[name] = !view[name];
    showToggles();
    if (name === "material") render();
  };
  const toggles = { heatmap: toggle("heatmap"), boxes: toggle("boxes"), material: toggle("material") };
  for (const [name, run] of Object.entries(toggles)) buttons[name].addEventListener("click", run);
  const actions = {
    zoomIn: () => zoomAt(STEP),
    zoomOut: () => zoomAt(1 / STEP),
    fit,
    toggleHeatmap: toggles.heatmap,
    toggleBoxes: toggles.boxes,
    toggleMaterial: toggles.material,
    preset: choosePreset,
  };
  $("zoom-in").addEventListener("click", actions.zoomIn);
  $("zoom-out").addEventListener("click", actions.zoomOut);
  $("zoom-fit").addEventListener("click", fit);
  xray.addEventListener("error", () => xray.getAttribute("src") && checkSession());

  return {
    ...actions,
    /** Shows a scan; `same` keeps the zoom and image when only its review fields changed. */
    show(next, { same = false } = {}) {
      const fresh = !same || !scan?.analysis !== !next.analysis;
      scan = next;
      if (fresh) {
        wanted = "";
        size = { width: 0, height: 0 };
        xray.removeAttribute("src");
        heatmap.removeAttribute("src");
        stage.style.transform = "";
        render();
      }
      drawRegions();
      showToggles();
      showWindow();
      describe();
    },
  };
}
