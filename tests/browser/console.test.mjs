// The officer console end to end: the real `scantriage serve` loaded with simulated scans,
// driven through Debian's headless Chromium by playwright-core. Run by scripts/browser-test.sh;
// screenshots go to target/browser-test/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.resolve(ROOT, process.env.SCANTRIAGE_BIN ?? "target/debug/scantriage");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "target/browser-test");
const PASSWORD = "correct horse battery staple";
const WAIT = 20_000;

// Uploaded before the browser opens: an honest empty container (green: released, so the queue
// must not show it) and flagged scans. SIM-6a is uploaded while the officer watches the queue.
const SAMPLES = ["SIM-67-000002", "SIM-69-000004", "SIM-6b-000006"].map((id) => path.join(ROOT, "samples", id));
const LATE_SAMPLE = path.join(ROOT, "samples/SIM-6a-000005");
// A false wall in a 40 ft container: the wall found across its hold is marked on the image.
const WALL_SAMPLE = path.join(ROOT, "samples/SIM-6f-000010");

const LAPTOP = { width: 1366, height: 768 };

let work, server, base, browser, page, ben, twinSample;
const keys = new Map();
const consoleErrors = [];

/** Runs a scantriage command and returns what it printed; its chatter on stderr is kept for failures. */
const run = (args, env = {}) => execFileSync(BIN, args, {
  env: { ...process.env, RUST_LOG: "warn", ...env }, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"],
}).trim();

async function until(what, check, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startServer(dataDir) {
  const portFile = path.join(work, "port");
  const log = fs.openSync(path.join(ARTIFACTS, "server.log"), "w");
  server = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--port-file", portFile], {
    env: { ...process.env, RUST_LOG: "info,ort=warn" },
    stdio: ["ignore", log, log],
  });
  const port = await until("the server's port file", () => {
    if (server.exitCode !== null) throw new Error(`scantriage serve exited with ${server.exitCode}; see target/browser-test/server.log`);
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, "utf8").trim() : "";
    return /^\d+$/.test(text) && text;
  }, 90_000);
  base = `http://127.0.0.1:${port}`;
}

async function upload(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "meta.json"), "utf8"));
  const form = new FormData();
  const part = (name, type, file) => form.append(name, new Blob([fs.readFileSync(path.join(dir, file))], { type }), file);
  part("metadata", "application/json", "meta.json");
  part("high", "image/png", "high.png");
  if (fs.existsSync(path.join(dir, "low.png"))) part("low", "image/png", "low.png");
  const response = await fetch(`${base}/api/v1/scans?wait=30`, {
    method: "POST", headers: { Authorization: `Bearer ${keys.get(meta.station_id)}` }, body: form, signal: AbortSignal.timeout(45_000),
  });
  const body = await response.text();
  assert.equal(response.status, 200, `upload of ${dir}: ${body}`);
  return JSON.parse(body);
}

/** A second officer working through the API, to claim a scan from under the browser's officer. */
async function signInAs(name) {
  const response = await fetch(`${base}/api/v1/session`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, password: PASSWORD }),
  });
  assert.equal(response.status, 200);
  const { token } = await response.json();
  return async (method, url, body) => {
    const answer = await fetch(`${base}${url}`, {
      method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
    });
    assert.ok(answer.ok, `${method} ${url}: ${answer.status} ${await answer.clone().text()}`);
    return answer.status === 204 ? null : answer.json();
  };
}

const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
const text = (selector) => page.locator(selector).innerText();
/** The address of the X-ray image once it is shown, else "". */
const xrayLoaded = () => page.evaluate(() => {
  const image = document.getElementById("xray");
  const shown = image.complete && image.naturalWidth > 0 && document.getElementById("image-status").hidden;
  return shown ? image.getAttribute("src") : "";
});

before(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  work = fs.mkdtempSync(path.join(os.tmpdir(), "scantriage-browser-"));
  const dataDir = path.join(work, "data");
  // A dual-energy scan whose load is not what was declared: red, with material colouring.
  run(["simulate", "--out", path.join(work, "sim"), "--count", "1", "--seed", "4242", "--scenario", "misdeclared", "--container", "20"]);
  SAMPLES.push(path.join(work, "sim", fs.readdirSync(path.join(work, "sim"))[0]));
  // Two 20 ft containers whose declaration names each item's container, with undeclared goods.
  run(["simulate", "--out", path.join(work, "twin"), "--count", "1", "--seed", "4343", "--scenario", "undeclared",
    "--container", "2x20", "--single-energy"]);
  twinSample = path.join(work, "twin", fs.readdirSync(path.join(work, "twin"))[0]);

  const store = { SCANTRIAGE_DATA_DIR: dataDir };
  for (const name of ["ana", "ben"]) run(["users", "add", name, "--role", "officer"], { ...store, SCANTRIAGE_PASSWORD: PASSWORD });
  run(["users", "add", "sue", "--role", "supervisor"], { ...store, SCANTRIAGE_PASSWORD: PASSWORD });
  run(["users", "add", "root", "--role", "admin"], { ...store, SCANTRIAGE_PASSWORD: PASSWORD });
  for (const dir of [...SAMPLES, LATE_SAMPLE, WALL_SAMPLE, twinSample]) {
    const station = JSON.parse(fs.readFileSync(path.join(dir, "meta.json"), "utf8")).station_id;
    if (!keys.has(station)) keys.set(station, run(["keys", "create", "--station", station], store).match(/stk_\w+/)[0]);
  }
  await startServer(dataDir);
  const lanes = [];
  for (const dir of SAMPLES) lanes.push((await upload(dir)).lane);
  assert.deepEqual(lanes, ["green", "red", "red", "red"], "the scans this test is written for");

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    // This network reaches nothing outside: keep Chromium from trying.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: LAPTOP });
  page.setDefaultTimeout(WAIT);
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  page.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.message}`));
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("an officer triages a red scan in the console", { timeout: 240_000 }, async () => {
  ben = await signInAs("ben");
  const dual = JSON.parse(fs.readFileSync(path.join(SAMPLES.at(-1), "meta.json"), "utf8"));
  const container = dual.containers[0].number;

  // Sign in.
  await page.goto(base);
  await page.locator("#signin-name").waitFor();
  await shot("01-sign-in");
  await signInPage(page, "ana");

  // The queue: flagged scans only, highest risk first, with what an officer sorts by.
  await page.locator(".entry", { hasText: container }).waitFor();
  const queue = await ben("GET", "/api/v1/queue");
  assert.ok(queue.entries.length >= 3, JSON.stringify(queue));
  assert.equal(await page.locator(".entry").count(), queue.entries.length);
  const honest = JSON.parse(fs.readFileSync(path.join(SAMPLES[0], "meta.json"), "utf8")).containers[0].number;
  assert.equal(await page.locator(".entry", { hasText: honest }).count(), 0, "a green scan is released, not queued");
  const first = page.locator(".entry").first();
  assert.equal(await first.locator(".score").innerText(), String(queue.entries[0].risk_score));
  assert.equal(await first.locator(".lane-tag").textContent(), queue.entries[0].lane);
  assert.match(await first.locator(".station").innerText(), /^[A-Z]/);
  assert.match(await first.locator(".age").innerText(), /^\d+ (s|min)$/);
  await until("the live stream", async () => (await page.locator("#live").getAttribute("data-kind")) === "live");
  await shot("02-queue");

  // Open the red dual-energy scan.
  const entry = queue.entries.find((e) => e.containers === container);
  assert.equal(entry?.lane, "red", JSON.stringify(entry));
  const scan = await ben("GET", `/api/v1/scans/${entry.id}`);
  await page.locator(".entry", { hasText: container }).click();
  await until("the scan's image", xrayLoaded);
  assert.equal(await text("#scan-title"), container);
  assert.match(await text("#scan-lane"), /^red \d+$/i);
  assert.deepEqual(
    (await page.locator("#reasons .sentence").allInnerTexts()).sort(),
    scan.verdict.reasons.map((r) => r.sentence).sort());
  assert.ok(await page.locator("#seen li.mismatch").count() > 0, "undeclared goods are highlighted");
  assert.ok(await page.locator("#declared li.mismatch").count() > 0, "declared goods not seen are highlighted");
  const { width, height } = scan.analysis.image;
  assert.deepEqual(await page.locator("#xray").evaluate((image) => [image.naturalWidth, image.naturalHeight]), [width, height]);
  assert.deepEqual(await unlabelledControls(), [], "every control has a name");
  assert.equal(await page.isVisible("#assign-form"), false, "only supervisors assign");

  // Anomaly heatmap and region boxes.
  assert.equal(await page.locator("#regions rect.anomaly").count(), scan.analysis.anomaly_regions.length);
  await page.keyboard.press("h");
  const overlay = page.locator("#heatmap");
  await until("the heatmap", () => overlay.evaluate((image) => !image.hidden && image.complete && image.naturalWidth > 0));
  assert.deepEqual(await overlay.evaluate((image) => [image.naturalWidth, image.naturalHeight]), [width, height]);
  assert.equal(await page.getAttribute("#toggle-heatmap", "aria-pressed"), "true");
  await page.click("#toggle-boxes");
  assert.equal(await page.locator("#regions").evaluate((svg) => getComputedStyle(svg).display), "none");
  await page.keyboard.press("b");
  assert.equal(await page.getAttribute("#toggle-boxes", "aria-pressed"), "true");

  // Material colouring: the server renders a coloured image.
  assert.equal(await colourfulness(), 0, "grayscale first");
  await page.keyboard.press("m");
  await until("the material image", async () => (await xrayLoaded()).includes("mode=material"));
  assert.ok(await colourfulness() > 0.05, "material colouring shows colours");
  assert.equal(await page.isVisible("#material-legend"), true);

  // Window/level: a preset, then the slider, which fetches once when the officer stops.
  const renders = [];
  page.on("request", (request) => request.url().includes("/image.png") && renders.push(request.url()));
  await page.selectOption("#wl-preset", { label: "Dense goods (4)" });
  await until("the dense preset", async () => /window=4\.0&level=5\.0/.test(await xrayLoaded()));
  await page.focus("#wl-level");
  for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
  await until("the new level", async () => /level=5\.3/.test(await xrayLoaded()));
  // The image may come from the browser's cache when swapped in: count distinct views.
  assert.equal(new Set(renders).size, 2, `one render per settled change: ${renders.join(" ")}`);
  await page.keyboard.press("Escape");

  // Zoom and pan move the image in the page, without fetching it again.
  const fitted = await text("#zoom-level");
  await page.keyboard.press("+");
  await page.keyboard.press("+");
  const box = await page.locator("#viewport").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  await until("the zoom", async () => parseInt(await text("#zoom-level")) > parseInt(fitted) * 2);
  const before = await page.locator("#stage").evaluate((stage) => stage.style.transform);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2 - 50, { steps: 5 });
  await page.mouse.up();
  assert.notEqual(await page.locator("#stage").evaluate((stage) => stage.style.transform), before, "dragging pans");
  await page.waitForTimeout(300);
  await shot("03-scan-zoomed");
  await page.keyboard.press("0");
  await until("the fitted view", async () => (await text("#zoom-level")) === fitted);
  assert.equal(new Set(renders).size, 2, "zooming fetched nothing");
  await page.selectOption("#wl-preset", { label: "Whole range (1)" });
  await until("the whole range", async () => {
    const shown = await xrayLoaded();
    return shown && !shown.includes("level=");
  });
  await page.evaluate(() => document.activeElement?.blur());
  await page.waitForTimeout(300);
  await shot("04-scan");
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.waitForTimeout(400);
  await shot("05-scan-1920");
  await page.setViewportSize({ width: 1366, height: 768 });

  // Another officer holds the scan: the server's refusal is shown in its words.
  await ben("POST", `/api/v1/scans/${entry.id}/claim`, {});
  await until("ben's claim, live", async () => /Claimed by ben/.test(await text("#claim-state")));
  await page.locator("#claim").click();
  await page.locator("#notice").waitFor();
  assert.match(await text("#notice-text"), /claimed by ben/);
  await shot("06-claimed-by-other");
  await page.click("#notice-close");
  await ben("POST", `/api/v1/scans/${entry.id}/release`);
  await until("the release, live", async () => (await text("#claim-state")) === "Not claimed.");

  // Claim and decide with the keyboard and the form; the console goes on with the next scan.
  await page.locator("#viewport").focus();
  await page.keyboard.press("c");
  await until("ana's claim", async () => /Claimed by you/.test(await text("#claim-state")));
  assert.match(await page.locator(".entry", { hasText: container }).innerText(), /claimed by you/);
  await page.keyboard.press("d");
  await page.check("input[value=physical_inspection_ordered]");
  await page.fill("#decision-notes", "Open at bay 3: scrap metal behind the declared drinks.");
  await page.click("#decision-form button[type=submit]");
  await until("the confirmation", async () => /Decision recorded for/.test(await text("#notice-text")));
  await until("the next scan", async () => (await text("#scan-title")) !== container && (await xrayLoaded()));
  await until("the queue without the decided scan", async () =>
    (await page.locator(".entry", { hasText: container }).count()) === 0);
  assert.equal(await page.locator(".entry").count(), queue.entries.length - 1);

  // The decision is in the scan's history.
  await page.click("#notice-text button");
  await until("the decided scan", async () => (await text("#scan-title")) === container);
  await until("the decision in the history", () => page.locator("#audit li[data-action=decided]").count());
  assert.match(await text("#audit li[data-action=decided]"), /ana decided \(queued → decided\) — physical inspection ordered: “Open at bay 3/);
  assert.match(await text("#review-state"), /^Decided: physical inspection ordered, by ana/);
  assert.equal(await page.isVisible("#decision-form"), false);
  await shot("07-decided");

  // Whoever learns what the inspection found records it, which closes the scan.
  await page.check("#outcome-form input[value=seizure]");
  await page.fill("#outcome-notes", "120 cartons of cigarettes behind the scrap.");
  await page.click("#outcome-form button[type=submit]");
  await until("the outcome", async () => /Inspection: seizure, recorded by ana/.test(await text("#review-state")));
  assert.equal(await page.isVisible("#outcome-form"), false);
  await until("the outcome in the history", () => page.locator("#audit li[data-action=outcome_recorded]").count());
  assert.match(await text("#audit li[data-action=outcome_recorded]"), /ana outcome recorded \(decided → closed\) — seizure: “120 cartons/);
  const closed = await ben("GET", `/api/v1/scans/${entry.id}`);
  assert.deepEqual([closed.state, closed.outcome, closed.outcome_by], ["closed", "seizure", "ana"]);

  // Once an admin has the images of settled scans deleted, the console says so instead of
  // showing a broken image; the verdict and the history stay.
  const root = await signInAs("root");
  const purged = await root("POST", "/api/v1/admin/purge-images", { settled_before: new Date().toISOString() });
  assert.equal(purged.scans, 2, "the released honest scan and this one");
  await page.selectOption("#queue-state", "closed");
  await page.locator(".entry", { hasText: container }).click();
  await until("the note on deleted images", async () => /^The images were deleted on /.test(await text("#image-status")));
  assert.equal(await page.isDisabled("#toggle-heatmap"), true);
  assert.equal(await page.getAttribute("#xray", "src"), null);
  assert.match(await text("#review-state"), /Inspection: seizure, recorded by ana/);
  await page.locator("#image-status").scrollIntoViewIfNeeded();
  await shot("07b-images-deleted");
  await page.selectOption("#queue-state", "queued");
  await until("the waiting scans", async () => (await page.locator(".entry").count()) === queue.entries.length - 1);

  // Part of a container number finds its scans in any state.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("/");
  await page.keyboard.type(container.slice(0, 7).toLowerCase());
  await until("the closed scan found", async () => /closed/.test(await page.locator(".entry", { hasText: container }).innerText()));
  assert.equal(await page.isDisabled("#queue-state"), true, "the filters are the queue's");
  await shot("07c-find-container");
  // And so does the declaration's number.
  await page.fill("#queue-search", closed.metadata.declaration.number);
  await until("the scan by its declaration", async () =>
    (await page.locator(".entry").count()) === 1 && (await page.locator(".entry", { hasText: container }).count()) === 1);
  await page.fill("#queue-search", "");
  await until("the queue again", async () => (await page.locator(".entry").count()) === queue.entries.length - 1);

  // A scan arriving while the officer works shows up without a reload.
  const count = await page.locator(".entry").count();
  await upload(LATE_SAMPLE);
  await until("the new scan in the queue", async () => (await page.locator(".entry").count()) === count + 1);

  // A wall across a hold is marked on the image, with why it matters.
  const wall = await upload(WALL_SAMPLE);
  const wallScan = await ben("GET", `/api/v1/scans/${wall.id}`);
  const walls = wallScan.analysis.containers.flatMap((c) => c.partitions);
  assert.equal(walls.length, 1, JSON.stringify(wallScan.analysis.containers));
  await page.locator(".entry", { hasText: wallScan.containers }).click();
  await until("the false-wall scan", async () => (await text("#scan-title")) === wallScan.containers && (await xrayLoaded()));
  assert.equal(await page.locator("#regions rect.partition").count(), 1);
  assert.match(await page.locator("#regions rect.partition title").textContent(), /^Wall across the hold \d+\.\d\d m from its end/);
  assert.match((await page.locator("#reasons .sentence").allInnerTexts()).join(" "), /A wall stands across container 1's hold/);
  assert.match(await page.getAttribute("#viewport", "aria-label"), /1 wall across the hold marked/);
  await shot("08-false-wall");

  // A twin load: each declared item says which container it travels in.
  const twin = await upload(twinSample);
  const twinScan = await ben("GET", `/api/v1/scans/${twin.id}`);
  assert.notEqual(twinScan.verdict.lane, "green", JSON.stringify(twinScan.verdict));
  await page.locator(".entry", { hasText: twinScan.containers }).click();
  await until("the twin scan", async () => (await text("#scan-title")) === twinScan.containers);
  const named = twinScan.metadata.declaration.items.map((item) => item.container);
  assert.equal(named.length, 3);
  assert.deepEqual((await page.locator("#declared li").allInnerTexts()).map((t) => t.match(/in ([A-Z]{4}\d{7})/)?.[1]), named);

  // The shift's counts, as the server keeps them.
  const stats = await ben("GET", "/api/v1/stats");
  await page.click("#stats-open");
  const today = Object.keys(stats.by_day).sort().at(-1);
  const todayRow = page.locator("#stats tr", { hasText: today });
  const lanes = ["red", "yellow", "green", "none"].map((lane) => String(stats.by_day[today][lane] ?? 0));
  assert.deepEqual((await todayRow.innerText()).split("\t"), [today, ...lanes]);
  assert.match(await page.locator("#stats tbody").first().innerText(), /closed\t1/);
  // The closed scan's outcome under each of its reasons, with the hit rate.
  const hits = Object.entries(stats.outcomes_by_reason);
  assert.ok(hits.length > 0, JSON.stringify(stats));
  for (const [reason, counts] of hits) {
    const cells = ["nothing_found", "irregularity", "seizure"].map((outcome) => counts[outcome] ?? 0);
    const rate = `${Math.round(((cells[1] + cells[2]) / (cells[0] + cells[1] + cells[2])) * 100)} %`;
    const row = page.locator("#stats tr", { hasText: reason.replaceAll("_", " ") }).last();
    assert.deepEqual((await row.innerText()).split("\t"), [reason.replaceAll("_", " "), ...cells.map(String), rate]);
  }
  await shot("09-statistics");
  await page.keyboard.press("Escape");

  // The shortcuts are listed on the page.
  await page.keyboard.press("?");
  await page.locator("#help").waitFor();
  assert.match(await text("#help-keys"), /Claim this scan/);
  await shot("10-shortcuts");
  await page.keyboard.press("Escape");

  // A session that ends sends the officer back to sign in, with the reason.
  await page.evaluate(() => fetch("/api/v1/session", { method: "DELETE" }));
  await page.keyboard.press("n");
  await page.locator("#signin-message").waitFor();
  assert.match(await text("#signin-message"), /session has expired/);
  await shot("11-session-expired");

  // The only errors in the browser's console are the refusals this test provoked.
  const unexpected = consoleErrors.filter((error) => !/status of (401|409)/.test(error));
  assert.deepEqual(unexpected, []);
});

test("without the event stream the console keeps up by polling", { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: LAPTOP });
  // A proxy that drops event streams, as some do.
  await context.route("**/api/v1/events", (route) => route.abort());
  const polling = await context.newPage();
  const uncaught = [];
  polling.on("pageerror", (error) => uncaught.push(error.message));
  await polling.goto(base);
  await signInPage(polling, "ben");
  const first = polling.locator(".entry").first();
  await first.waitFor();
  assert.match(await polling.locator("#live").innerText(), /^Updating every \d+ s$/);
  assert.doesNotMatch(await first.innerText(), /claimed/);
  const { entries } = await ben("GET", "/api/v1/queue");
  await ben("POST", `/api/v1/scans/${entries[0].id}/claim`, {});
  await until("the claim, by polling", async () => /claimed by you/.test(await first.innerText()), 15_000);
  assert.deepEqual(uncaught, []);
  await context.close();
});

test("a supervisor hands a scan to an officer", { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: LAPTOP });
  const supervisor = await context.newPage();
  await supervisor.goto(base);
  await signInPage(supervisor, "sue");
  const { entries } = await ben("GET", "/api/v1/queue");
  const free = entries.find((entry) => !entry.claim || Date.parse(entry.claim.until) < Date.now());
  await supervisor.locator(`.entry[data-id="${free.id}"]`).click();
  await supervisor.locator("#assign-form").waitFor();
  await supervisor.focus("#assign-officer");
  await until("the names offered", async () =>
    (await supervisor.locator("#assign-names option").evaluateAll((options) => options.map((o) => o.value))).includes("ben"));
  await supervisor.fill("#assign-officer", "bne");
  await supervisor.click("#assign-form button[type=submit]");
  await until("the refusal", async () => /no active user bne/.test(await supervisor.locator("#notice-text").innerText()));
  await supervisor.fill("#assign-officer", "ben");
  await supervisor.click("#assign-form button[type=submit]");
  await until("ben's claim", async () => /Claimed by ben/.test(await supervisor.locator("#claim-state").innerText()));
  assert.equal((await ben("GET", `/api/v1/scans/${free.id}`)).claim.officer, "ben");
  await context.close();
});

test("an admin manages officers and station keys; an officer changes her password", { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: LAPTOP });
  const admin = await context.newPage();
  const questions = [];
  admin.on("dialog", (question) => {
    questions.push(question.message());
    question.accept();
  });
  await admin.goto(base);
  await signInPage(admin, "root");
  await admin.locator("#admin-open").click();
  const keyRows = admin.locator("#admin-keys tr");
  await until("the keys the stations were given", async () => (await keyRows.count()) === keys.size);
  assert.match(await keyRows.first().innerText(), /valid/);

  await admin.fill("#key-station", "GATE-CONSOLE");
  await admin.click("#key-form button[type=submit]");
  const key = await until("the new key", async () => (await admin.locator("#key-created-value").innerText()).trim());
  const station = await fetch(`${base}/api/v1/session`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.json());
  assert.equal(station.station_id, "GATE-CONSOLE");
  const row = admin.locator("#admin-keys tr", { hasText: "GATE-CONSOLE" });
  await row.getByRole("button", { name: "Revoke" }).click();
  await until("the revocation", async () => /revoked/.test(await row.innerText()));
  assert.match(questions.at(-1), /Revoke key key_\w+ of GATE-CONSOLE\?/);
  const refused = await fetch(`${base}/api/v1/session`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(refused.status, 401);
  const listed = run(["keys", "list"], { SCANTRIAGE_DATA_DIR: path.join(work, "data") });
  assert.match(listed, /GATE-CONSOLE\tcreated \S+\tlast used \S+\trevoked /);

  await admin.fill("#user-name", "dora");
  await admin.selectOption("#user-role", "supervisor");
  await admin.fill("#user-password", PASSWORD);
  await admin.click("#user-form button[type=submit]");
  const dora = admin.locator('#admin-users tr[data-user="dora"]');
  await until("dora's row", async () => /supervisor\s+active/.test(await dora.innerText().catch(() => "")));
  const doraCalls = await signInAs("dora");
  assert.equal((await doraCalls("GET", "/api/v1/session")).name, "dora");

  // Dora changes the password she was given.
  // A context of her own: the admin's session cookie is in this one.
  const doraContext = await browser.newContext({ viewport: LAPTOP });
  const doraPage = await doraContext.newPage();
  await doraPage.goto(base);
  await signInPage(doraPage, "dora");
  await doraPage.locator("#password-open").click();
  const NEW_PASSWORD = "dora's own long password";
  const changeTo = async (current) => {
    await doraPage.fill("#password-current", current);
    await doraPage.fill("#password-new", NEW_PASSWORD);
    await doraPage.fill("#password-repeat", NEW_PASSWORD);
    await doraPage.click("#password-form button[type=submit]");
  };
  await changeTo("not her password");
  await until("the refusal", async () => /current password is wrong/.test(await doraPage.locator("#password-message").innerText()));
  await changeTo(PASSWORD);
  await until("the confirmation", async () => /password is changed/.test(await doraPage.locator("#notice-text").innerText()));
  const signedIn = await fetch(`${base}/api/v1/session`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "dora", password: NEW_PASSWORD }),
  });
  assert.equal(signedIn.status, 200);
  await doraContext.close();
  await dora.getByRole("button", { name: "Disable" }).click();
  await until("dora disabled", async () => /disabled/.test(await dora.innerText()));
  assert.equal(await admin.locator('#admin-users tr[data-user="root"] button').count(), 0, "admins do not disable themselves");
  const latest = await admin.locator("#admin-log tr").first().innerText();
  assert.match(latest, /root\s+user disabled\s+dora/);
  // Disabled by mistake: back, and with a password the admin sets.
  await dora.getByRole("button", { name: "Enable" }).click();
  await until("dora enabled", async () => /active/.test(await dora.innerText()));
  await until("dora offered", async () => (await admin.locator('#reset-name option[value="dora"]').count()) === 1);
  await admin.selectOption("#reset-name", "dora");
  await admin.fill("#reset-password", "set by root for dora");
  await admin.click("#reset-form button[type=submit]");
  await until("the reset", async () => /dora's password is set/.test(await admin.locator("#admin-result").innerText()));
  const afterReset = await fetch(`${base}/api/v1/session`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "dora", password: "set by root for dora" }),
  });
  assert.equal(afterReset.status, 200);

  await admin.click("#reanalyse-form button[type=submit]");
  await until("the answer", async () => /No scan failed since/.test(await admin.locator("#admin-result").innerText()));
  await admin.screenshot({ path: path.join(ARTIFACTS, "admin.png") });
  await context.close();

  const officerPage = await (await browser.newContext({ viewport: LAPTOP })).newPage();
  await officerPage.goto(base);
  await signInPage(officerPage, "ana");
  await until("ana's console", async () => /^ana/.test(await officerPage.locator("#who").innerText()));
  assert.equal(await officerPage.locator("#admin-open").isVisible(), false, "officers do not see it");
  await officerPage.context().close();
});

test("a console left alone signs its officer out", { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: LAPTOP });
  await context.clock.install();
  const left = await context.newPage();
  await left.goto(base);
  await signInPage(left, "ben");
  await until("ben's console", async () => /^ben/.test(await left.locator("#who").innerText()));
  await left.clock.fastForward("25:00");
  // Input tells the server too that the session is in use, whose own idle limit counts requests.
  const keptAlive = left.waitForRequest((r) => r.method() === "GET" && new URL(r.url()).pathname === "/api/v1/session");
  await left.mouse.move(200, 200);
  await keptAlive;
  await left.clock.fastForward("25:00");
  assert.equal(await left.locator("#console").isVisible(), true, "input restarts the count");
  await left.locator("#password-open").click();
  await left.clock.fastForward("31:00");
  await until("the sign-in form", async () => left.locator("#signin").isVisible());
  assert.match(await left.locator("#signin-message").innerText(), /signed out after 30 minutes without activity/);
  assert.equal(await left.locator("#password").isVisible(), false, "no dialog left over the form");
  const status = await left.evaluate(async () => (await fetch("/api/v1/session")).status);
  assert.equal(status, 401, "the session ended on the server too");
  await context.close();
});

async function signInPage(target, name) {
  await target.fill("#signin-name", name);
  await target.fill("#signin-password", PASSWORD);
  await target.click("#signin-form button[type=submit]");
}

/** Buttons, fields and selects that a screen reader could not name. */
function unlabelledControls() {
  return page.evaluate(() => [...document.querySelectorAll("button, input, select, textarea")]
    .filter((control) => control.offsetParent !== null || control.type === "radio")
    .filter((control) => !(control.getAttribute("aria-label") || control.labels?.length || control.textContent.trim()))
    .map((control) => control.outerHTML));
}

/** Share of the shown image's pixels that are clearly not gray. */
function colourfulness() {
  return page.locator("#xray").evaluate((xray) => {
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = [xray.naturalWidth, xray.naturalHeight];
    const context = canvas.getContext("2d");
    context.drawImage(xray, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (Math.max(pixels[i], pixels[i + 1], pixels[i + 2]) - Math.min(pixels[i], pixels[i + 1], pixels[i + 2]) > 40) coloured++;
    }
    return coloured / (pixels.length / 4);
  });
}
