// The inspectors' review screen: the queue of flagged scans, one scan with its detections
// drawn over the image, the declaration beside it, and verdicts by keyboard. Everything from
// the server goes into the page as text (never as HTML): scan and declaration ids come from
// scanners and declarants.
"use strict";

const $ = (id) => document.getElementById(id);

const CATEGORY = {
  weapon: { label: "WEAPON", cls: "weapon" },
  drugs: { label: "DRUGS", cls: "drugs" },
  undeclared_goods: { label: "UNDECLARED", cls: "undeclared" },
  other: { label: "OTHER", cls: "other" },
};
const VERDICT_WORDS = { confirmed: "confirmed", false_alarm: "false alarm" };
const SVG = "http://www.w3.org/2000/svg";

const state = {
  queue: [],
  selected: -1,
  scan: null,
  detection: 0,
  alarmsOnly: true,
  palette: "classic",
  zoom: 1,
  panX: 0,
  panY: 0,
  busy: false,
  // The session's CSRF token: every change the page asks for carries it.
  csrf: "",
};

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, options) {
  const opts = { ...(options || {}), credentials: "same-origin" };
  if (opts.method && opts.method !== "GET") {
    opts.headers = { ...(opts.headers || {}), "x-csrf-token": state.csrf };
  }
  const response = await fetch(path, opts);
  // The session ended (logout, idle timeout, restart): back to the login page.
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("the session has ended");
  }
  const json = (response.headers.get("content-type") || "").includes("json");
  const body = json ? await response.json() : await response.text();
  if (!response.ok) throw new Error((json && body.error) || body || response.statusText);
  return body;
}

function channelBadge(channel) {
  return el("span", { class: `channel ${channel}` }, channel.toUpperCase());
}

function categoryBadge(category) {
  const c = CATEGORY[category] || CATEGORY.other;
  return el("span", { class: `cat ${c.cls}` }, c.label);
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(ms).toLocaleString();
}

function say(text, error) {
  const m = $("message");
  m.textContent = text;
  m.className = error ? "error" : "";
}

// ---- queue ----

function filters() {
  const p = new URLSearchParams();
  if ($("f-channel").value) p.set("channel", $("f-channel").value);
  if ($("f-portal").value.trim()) p.set("portal", $("f-portal").value.trim());
  if ($("f-category").value) p.set("category", $("f-category").value);
  if ($("f-decided").checked) p.set("include_decided", "true");
  return p;
}

async function loadQueue() {
  let items;
  try {
    items = await api(`/api/flagged?${filters()}`);
  } catch (e) {
    $("queue-count").textContent = `(cannot load: ${e.message})`;
    return;
  }
  const openId = state.scan && state.scan.scan_id;
  const previousIndex = state.selected;
  state.queue = items;
  renderQueue();
  const stillThere = items.findIndex((i) => i.scan_id === openId);
  if (stillThere >= 0) {
    select(stillThere, false);
  } else if (items.length > 0) {
    // The open scan was decided (or filtered out): the one now in its place opens.
    select(Math.min(Math.max(previousIndex, 0), items.length - 1), true);
  } else {
    state.selected = -1;
  }
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  $("queue-count").textContent = `(${state.queue.length})`;
  state.queue.forEach((item, i) => {
    const li = el(
      "li",
      {
        id: `q-${i}`,
        role: "option",
        "aria-selected": "false",
        "data-scan-id": item.scan_id,
        onclick: () => select(i, true),
      },
      el("div", {}, channelBadge(item.channel), " ",
        el("strong", {}, item.risk_score.toFixed(2)), " ",
        el("span", { class: "sid" }, item.scan_id)),
      el("div", { class: "meta" },
        `${item.declaration_id} · ${item.portal_id || "no portal"} · ${ago(item.received_ms)}`),
      el("div", { class: "meta" }, ...item.categories.flatMap((c) => [categoryBadge(c), " "]),
        `${item.alarms} alarm${item.alarms === 1 ? "" : "s"}`,
        item.decision ? ` · ${item.decision}` : ""),
    );
    list.append(li);
  });
}

function select(i, open) {
  if (i < 0 || i >= state.queue.length) return;
  state.selected = i;
  for (const li of $("queue").children) li.setAttribute("aria-selected", "false");
  const li = $(`q-${i}`);
  li.setAttribute("aria-selected", "true");
  $("queue").setAttribute("aria-activedescendant", li.id);
  li.scrollIntoView({ block: "nearest" });
  if (open) openScan(state.queue[i].scan_id);
}

// ---- scan ----

function visibleDetections() {
  if (!state.scan) return [];
  return state.scan.detections.filter((d) => d.alarm || !state.alarmsOnly);
}

async function openScan(scanId, keepView) {
  let scan;
  try {
    scan = await api(`/api/scans/${encodeURIComponent(scanId)}`);
  } catch (e) {
    say(`Cannot open ${scanId}: ${e.message}`, true);
    return;
  }
  const same = state.scan && state.scan.scan_id === scan.scan_id;
  state.scan = scan;
  if (!same || !keepView) {
    state.detection = 0;
    state.zoom = 1;
    state.panX = 0;
    state.panY = 0;
    $("comment").value = "";
    say("");
  }
  $("scan-empty").hidden = true;
  $("scan").hidden = false;
  $("scan-title").textContent = `Scan ${scan.scan_id}`;
  const paletteLabel = $("palette-label");
  paletteLabel.hidden = !scan.dual_energy;
  if (scan.dual_energy && $("palette").options.length === 0) {
    for (const p of scan.palettes) $("palette").append(el("option", { value: p }, p));
    $("palette").value = state.palette;
  }
  const img = $("scan-image");
  img.hidden = !scan.image_kept;
  $("no-image").hidden = scan.image_kept;
  img.alt = `X-ray image of scan ${scan.scan_id}, ${scan.width} by ${scan.height} pixels`;
  if (scan.image_kept) {
    const src = `/api/scans/${encodeURIComponent(scan.scan_id)}/image?palette=${state.palette}`;
    if (img.getAttribute("src") !== src) img.setAttribute("src", src);
  }
  renderView();
  renderDetections();
  renderDeclaration(scan.declaration);
}

/** Sizes the stage to the image at the current zoom; the overlay uses the image's pixels. */
function renderView() {
  const scan = state.scan;
  if (!scan) return;
  const viewport = $("viewport");
  const fit = Math.min(viewport.clientWidth / scan.width, viewport.clientHeight / scan.height);
  const scale = fit * state.zoom;
  const stage = $("stage");
  stage.style.width = `${scan.width * scale}px`;
  stage.style.height = `${scan.height * scale}px`;
  stage.style.transform = `translate(${state.panX}px, ${state.panY}px)`;
  const svg = $("overlay");
  svg.setAttribute("viewBox", `0 0 ${scan.width} ${scan.height}`);
  svg.replaceChildren();
  const fontSize = Math.max(12, 15 / scale);
  visibleDetections().forEach((d, i) => {
    const c = CATEGORY[d.category] || CATEGORY.other;
    const [x1, y1, x2, y2] = d.box;
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", `${c.cls}${i === state.detection ? " selected" : ""}`);
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "det-box");
    rect.setAttribute("data-detection-id", String(d.id));
    rect.setAttribute("x", x1);
    rect.setAttribute("y", y1);
    rect.setAttribute("width", Math.max(0, x2 - x1));
    rect.setAttribute("height", Math.max(0, y2 - y1));
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", x1);
    text.setAttribute("y", y1 > fontSize ? y1 - fontSize * 0.3 : y2 + fontSize);
    text.setAttribute("font-size", fontSize);
    const verdict = d.verdict ? ` (${VERDICT_WORDS[d.verdict]})` : "";
    text.textContent = `${i + 1} ${d.class_name} ${c.label} ${d.confidence.toFixed(2)}${verdict}`;
    g.append(rect, text);
    svg.append(g);
  });
}

function renderDetections() {
  const list = $("detections");
  list.replaceChildren();
  const shown = visibleDetections();
  $("toggle-all").textContent = state.alarmsOnly ? "Showing alarms only (a)" : "Showing all detections (a)";
  $("toggle-all").setAttribute("aria-pressed", String(!state.alarmsOnly));
  if (shown.length === 0) {
    list.append(el("li", {}, state.alarmsOnly ? "No alarm on this scan." : "No detection on this scan."));
    return;
  }
  shown.forEach((d, i) => {
    const verdict = d.verdict
      ? `${VERDICT_WORDS[d.verdict]} by ${d.verdict_by}`
      : "not judged";
    list.append(
      el("li", { class: i === state.detection ? "selected" : "", "data-detection-id": String(d.id),
        onclick: () => selectDetection(i) },
        el("span", { class: "num" }, String(i + 1)),
        categoryBadge(d.category),
        el("span", {}, `${d.class_name} ${d.confidence.toFixed(2)}${d.alarm ? "" : " (under threshold)"}`),
        el("span", { class: "verdict" }, verdict),
        el("button", { type: "button", onclick: (e) => { e.stopPropagation(); selectDetection(i); judge("confirmed"); } }, "Confirm (c)"),
        el("button", { type: "button", onclick: (e) => { e.stopPropagation(); selectDetection(i); judge("false_alarm"); } }, "False alarm (f)"),
      ),
    );
  });
}

function renderDeclaration(d) {
  const items = el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "HS code"), el("th", {}, "Description"), el("th", {}, "Qty"), el("th", {}, "Value"))),
    el("tbody", {}, ...d.items.map((i) => el("tr", {},
      el("td", {}, i.hs_code), el("td", {}, i.description), el("td", {}, String(i.quantity)), el("td", {}, String(i.value))))));
  const route = [d.origin_country, d.destination_country].filter(Boolean).join(" → ") || "not given";
  $("declaration").replaceChildren(
    el("h2", {}, `Declaration ${d.id}`),
    el("p", { class: "risk" }, channelBadge(d.channel), " risk ", el("strong", { id: "risk-score" }, d.score.toFixed(2)),
      ` (prior ${d.prior_risk.toFixed(2)})`),
    el("dl", {},
      el("dt", {}, "Declarant"), el("dd", {}, d.declarant),
      el("dt", {}, "Route"), el("dd", {}, route),
      el("dt", {}, "Transport"), el("dd", {}, d.transport_mode.replace("_", " ")),
      el("dt", {}, "Registered"), el("dd", {}, new Date(d.registered_ms).toLocaleString())),
    el("h3", {}, "Declared items"),
    d.items.length ? items : el("p", {}, "No items declared."),
    el("h3", {}, "Why this risk"),
    el("ul", { id: "reasons" }, ...d.reasons.map((r) => el("li", {}, r))),
  );
}

function selectDetection(i) {
  const shown = visibleDetections();
  if (i < 0 || i >= shown.length) return;
  state.detection = i;
  renderView();
  renderDetections();
}

// ---- verdicts ----

async function submit(body, what) {
  const scan = state.scan;
  if (!scan || state.busy) return false;
  state.busy = true;
  try {
    const answer = await api(`/api/scans/${encodeURIComponent(scan.scan_id)}/verdict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, comment: $("comment").value }),
    });
    say(`Saved: ${what}. Declaration risk ${answer.score.toFixed(2)}, ${answer.channel.toUpperCase()}.`);
    return true;
  } catch (e) {
    say(`Not saved: ${e.message}`, true);
    return false;
  } finally {
    state.busy = false;
  }
}

async function judge(verdict) {
  const d = visibleDetections()[state.detection];
  if (!d) return;
  const saved = await submit({ detections: [{ detection_id: d.id, verdict }] },
    `${d.class_name} ${VERDICT_WORDS[verdict]}`);
  if (saved) {
    await openScan(state.scan.scan_id, true);
    await loadQueue();
  }
}

async function decide(decision) {
  if (await submit({ decision }, `scan ${decision}`)) {
    // The decided scan leaves the queue; the next one opens in its place.
    const message = $("message").textContent;
    await loadQueue();
    if (state.queue.length === 0) {
      state.scan = null;
      $("scan").hidden = true;
      $("scan-empty").hidden = false;
    }
    say(message);
  }
}

// ---- view controls ----

function zoom(factor) {
  state.zoom = Math.min(16, Math.max(1, state.zoom * factor));
  if (state.zoom === 1) { state.panX = 0; state.panY = 0; }
  renderView();
}

function pan(dx, dy) {
  state.panX += dx;
  state.panY += dy;
  renderView();
}

function nextPalette() {
  if (!state.scan || !state.scan.dual_energy) return;
  const list = state.scan.palettes;
  state.palette = list[(list.indexOf(state.palette) + 1) % list.length];
  $("palette").value = state.palette;
  openScan(state.scan.scan_id, true);
}

function toggleAll() {
  state.alarmsOnly = !state.alarmsOnly;
  state.detection = 0;
  renderView();
  renderDetections();
}

// ---- wiring ----

function onKey(e) {
  // The help dialog is modal: its own keys (Esc closes it) and nothing behind it.
  if ($("help").open) return;
  const typing = e.target.matches("input, textarea, select");
  if (e.key === "Escape") {
    if (typing) e.target.blur();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const step = 60;
  const keys = {
    j: () => select(state.selected + 1, true),
    k: () => select(state.selected - 1, true),
    ArrowDown: () => (e.shiftKey ? pan(0, -step) : select(state.selected + 1, true)),
    ArrowUp: () => (e.shiftKey ? pan(0, step) : select(state.selected - 1, true)),
    ArrowLeft: () => e.shiftKey && pan(step, 0),
    ArrowRight: () => e.shiftKey && pan(-step, 0),
    Enter: () => select(state.selected, true),
    c: () => judge("confirmed"),
    f: () => judge("false_alarm"),
    x: () => decide("cleared"),
    s: () => decide("seized"),
    a: toggleAll,
    p: nextPalette,
    "+": () => zoom(1.25),
    "=": () => zoom(1.25),
    "-": () => zoom(0.8),
    "0": () => { state.zoom = 1; state.panX = 0; state.panY = 0; renderView(); },
    m: () => $("comment").focus(),
    "?": () => $("help").showModal(),
  };
  let action = keys[e.key];
  if (!action && /^[1-9]$/.test(e.key)) action = () => selectDetection(Number(e.key) - 1);
  if (action) {
    e.preventDefault();
    action();
  }
}

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadQueue, 150);
}

function listen() {
  const events = new EventSource("/api/events");
  events.onopen = () => { $("live").textContent = "live: new scans appear as they arrive"; };
  events.onerror = () => { $("live").textContent = "reconnecting…"; };
  for (const kind of ["flagged", "verdict", "resync"]) events.addEventListener(kind, scheduleReload);
}

function dragToPan() {
  const viewport = $("viewport");
  let from = null;
  viewport.addEventListener("pointerdown", (e) => { from = [e.clientX, e.clientY]; viewport.setPointerCapture(e.pointerId); });
  viewport.addEventListener("pointermove", (e) => {
    if (!from) return;
    pan(e.clientX - from[0], e.clientY - from[1]);
    from = [e.clientX, e.clientY];
  });
  viewport.addEventListener("pointerup", () => { from = null; });
  viewport.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY < 0 ? 1.25 : 0.8); }, { passive: false });
}

async function logout() {
  try {
    await api("/api/logout", { method: "POST" });
  } finally {
    window.location.assign("/login");
  }
}

async function init() {
  const session = await api("/api/session");
  state.csrf = session.csrf;
  $("principal").textContent = `${session.principal} (${session.roles.join(", ")})`;
  $("logout").addEventListener("click", logout);
  for (const id of ["f-channel", "f-category", "f-decided"]) $(id).addEventListener("change", loadQueue);
  $("f-portal").addEventListener("input", scheduleReload);
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("toggle-all").addEventListener("click", toggleAll);
  $("palette").addEventListener("change", () => { state.palette = $("palette").value; openScan(state.scan.scan_id, true); });
  $("zoom-in").addEventListener("click", () => zoom(1.25));
  $("zoom-out").addEventListener("click", () => zoom(0.8));
  $("zoom-fit").addEventListener("click", () => { state.zoom = 1; state.panX = 0; state.panY = 0; renderView(); });
  $("clear-scan").addEventListener("click", () => decide("cleared"));
  $("seize-scan").addEventListener("click", () => decide("seized"));
  $("help-open").addEventListener("click", () => $("help").showModal());
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", renderView);
  dragToPan();
  listen();
  loadQueue();
}

init().catch((e) => say(`Cannot start: ${e.message}`, true));
