// The grid worker's phone (/m): report a patrol finding in seconds, own tasks, verification on the spot and
// the patrol log. Small on purpose (a slow connection): core.js only, no charts, one call to start with.
import { ApiError, authHeaders, el, clear, fmtShortTime, get, me, post, session, t, toast } from "./core.js";

const DRAFTS = "shuzhi.phone.drafts";
const TRACK = "shuzhi.phone.track";
const MAX_SIDE = 1600;          // a photo's longer side after downscaling, pixels
const SHRINK_ABOVE = 400 * 1024; // photos smaller than this go as they are
const $ = (id) => document.getElementById(id);

let home = null;
let fix = null;          // the last GPS fix {lon, lat, accuracy, at}
let manual = false;      // the worker picked the grid by hand
let chosenClass = null;
let photoBlob = null;
let patrol = null;       // the running patrol (summary from the API)
let sampler = null;
let lastSent = null;     // the last point sent on the patrol {lon, lat, at}
let pendingKey = null;   // the key of a finding made whose photo was refused: a resubmit is the same event

// --- helpers -----------------------------------------------------------------------------------

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const isNetwork = (e) => !(e instanceof ApiError) || [502, 503, 504].includes(e.status);

function metres(a, b) {
  const r = 6371008.8, rad = Math.PI / 180;
  const dp = (b.lat - a.lat) * rad, dl = (b.lon - a.lon) * rad;
  const h = Math.sin(dp / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dl / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

// The error of a field, in Chinese, from the API's answer (field + details.code).
function fieldError(e) {
  if (!(e instanceof ApiError)) return ["form", t("phone.err.network")];
  if (e.status === 403) return ["form", t("phone.err.forbidden")];
  const field = String(e.body.field || "");
  const code = (e.body.details && e.body.details.code) || "";
  if (field === "file" || e.status === 413) {
    return ["photo", /type|content/.test(e.message) ? t("phone.err.photo_type") : t("phone.err.photo_large")];
  }
  if (field === "lon" || field === "lat" || field === "area_code") {
    return ["location", code === "outside_area" ? t("phone.err.outside_area") : t("phone.err.location")];
  }
  if (field === "event_class_code") return ["class", code === "empty" ? t("phone.err.empty") : t("phone.err.class")];
  if (field === "description") return ["text", t("phone.err.text")];
  if (field === "patrol_id") return ["form", t("phone.err.patrol")];
  return ["form", t("phone.err.other")];
}

function showErrors(errors) {
  for (const id of ["photo", "location", "class", "text", "form"]) $(`err-${id}`).textContent = errors[id] || "";
  const first = Object.keys(errors)[0];
  if (first && $(`f-${first}`)) $(`f-${first}`).scrollIntoView({ block: "center" });
}

async function send(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin",
    headers: { Accept: "application/json", ...authHeaders(method), ...headers } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  const data = (r.headers.get("content-type") || "").includes("application/json") ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// --- photo: downscaled in the browser before upload -------------------------------------------------

async function shrink(file) {
  if (file.size <= SHRINK_ABOVE && /^image\/(jpeg|png|webp)$/.test(file.type)) return file;
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { return file; }  // the server names the problem
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.8));
}

const toDataUrl = (blob) => new Promise((resolve) => {
  const r = new FileReader(); r.onload = () => resolve(r.result); r.onerror = () => resolve(null); r.readAsDataURL(blob);
});

// Not fetch(url): the page's CSP (connect-src 'self') refuses data: URLs.
function fromDataUrl(url) {
  const [head, data] = url.split(",");
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: (/data:([^;]+)/.exec(head) || [])[1] || "image/jpeg" });
}

async function uploadPhoto(number, blob, taskId) {
  const fd = new FormData();
  const ext = blob.type === "image/png" ? "png" : blob.type === "image/webp" ? "webp" : "jpg";
  fd.append("file", blob, `现场.${ext}`);
  const q = taskId ? `?task_id=${encodeURIComponent(taskId)}` : "";
  return send("POST", `/api/events/${encodeURIComponent(number)}/attachments${q}`, fd);
}

// --- GPS ---------------------------------------------------------------------------------------

function locate(fresh = false) {
  const status = $("gps-status");
  if (!navigator.geolocation) { status.textContent = t("phone.gps.failed"); showManual(); return Promise.resolve(null); }
  status.textContent = t("phone.gps.locating");
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition((pos) => {
    fix = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy, at: new Date(pos.timestamp || Date.now()) };
    if (!manual) status.textContent = t("phone.gps.ok", { m: Math.round(fix.accuracy || 0) });
    resolve(fix);
  }, (err) => {
    status.textContent = err.code === 1 ? t("phone.gps.denied") : t("phone.gps.failed");
    showManual();
    resolve(null);
  }, { enableHighAccuracy: true, timeout: 10000, maximumAge: fresh ? 0 : 5000 }));
}

function showManual() { manual = true; $("manual").hidden = false; }

// --- the class picker: common ones as buttons, the rest by search ---------------------------------

function drawClasses() {
  const q = $("class-search").value.trim();
  const all = home ? home.classes : [];
  const shown = q ? all.filter((c) => c.name.includes(q) || c.major_name.includes(q) || c.code.startsWith(q)).slice(0, 12)
    : all.filter((c) => c.common || (chosenClass && c.code === chosenClass.code));
  const box = clear($("classes"));
  if (!shown.length) box.append(el("p", { class: "muted" }, t("phone.class.none")));
  for (const c of shown) {
    box.append(el("button", { type: "button", role: "radio", class: "ph-chip", "data-code": c.code,
      "aria-checked": chosenClass && chosenClass.code === c.code ? "true" : "false",
      onclick: () => { chosenClass = c; $("err-class").textContent = ""; drawClasses(); } }, c.name));
  }
}

// --- findings: submit, keep as a draft when the network fails, retry on the next visit -------------

function findingBody() {
  const body = { event_class_code: chosenClass ? chosenClass.code : null, description: $("text").value.trim() };
  if (!manual && fix) Object.assign(body, { lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy || null });
  else Object.assign(body, { area_code: $("grid").value || null, address: $("address").value.trim() || null });
  if (patrol) body.patrol_id = patrol.id;
  return body;
}

function check(body) {
  const errors = {};
  if (!body.event_class_code && !body.description) errors.class = t("phone.err.empty");
  if (body.description.length > 500) errors.text = t("phone.err.text");
  if (photoBlob && !/^image\//.test(photoBlob.type)) errors.photo = t("phone.err.photo_type");
  return errors;
}

function drafts() { try { return JSON.parse(localStorage.getItem(DRAFTS) || "[]"); } catch { return []; } }
function saveDrafts(list) {
  try { localStorage.setItem(DRAFTS, JSON.stringify(list)); } catch {
    // out of room: keep the text, drop the photos
    localStorage.setItem(DRAFTS, JSON.stringify(list.map((d) => ({ ...d, photo: null }))));
  }
  const n = list.length;
  $("ph-drafts").hidden = !n;
  $("ph-drafts").textContent = n ? t("phone.drafts_pending", { n }) : "";
}

// One draft: the event (same Idempotency-Key, so a retry never doubles it), then its photo.
async function sendDraft(d) {
  if (!d.number) {
    const made = await send("POST", "/api/phone/findings", d.body, { "Idempotency-Key": d.key });
    d.number = made.number;
  }
  if (d.photo) { await uploadPhoto(d.number, fromDataUrl(d.photo)); d.photo = null; }
  return d.number;
}

async function retryDrafts() {
  const list = drafts();
  if (!list.length) return;
  const left = [], sent = [];
  for (const d of list) {
    try { sent.push(await sendDraft(d)); } catch (e) {
      if (isNetwork(e)) left.push(d);  // a refused draft (4xx) cannot succeed later: dropped, shown
      else toast(fieldError(e)[1], "error");
    }
  }
  saveDrafts(left);
  if (sent.length) toast(t("phone.drafts_sent", { numbers: sent.join("、") }));
}

async function submitFinding(ev) {
  ev.preventDefault();
  const body = findingBody();
  const errors = check(body);
  showErrors(errors);
  if (Object.keys(errors).length) return;
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("phone.sending");
  const draft = { key: pendingKey || newKey(), body, photo: null, number: null, at: new Date().toISOString() };
  try {
    const made = await send("POST", "/api/phone/findings", body, { "Idempotency-Key": draft.key });
    draft.number = made.number;
    if (photoBlob) {
      try { await uploadPhoto(made.number, photoBlob); } catch (e) {
        if (!isNetwork(e)) { pendingKey = draft.key; showErrors({ [fieldError(e)[0]]: fieldError(e)[1] }); return; }
        draft.photo = await toDataUrl(photoBlob);
        saveDrafts([...drafts(), draft]);
        toast(t("phone.sent_no_photo", { number: made.number }));
        resetForm(made.number);
        return;
      }
    }
    toast(t("phone.sent", { number: made.number }));
    resetForm(made.number);
  } catch (e) {
    if (isNetwork(e) && !draft.number) {
      draft.photo = photoBlob ? await toDataUrl(photoBlob) : null;
      saveDrafts([...drafts(), draft]);
      toast(t("phone.draft_saved"), "warn");
      $("err-form").textContent = t("phone.draft_saved");
    } else if (!draft.number) {
      const [field, text] = fieldError(e);
      showErrors({ [field]: text });
    }
  } finally {
    button.disabled = false;
    button.textContent = t("phone.submit");
  }
}

function resetForm(number) {
  pendingKey = null;
  $("finding").reset();
  document.body.dataset.lastFinding = number;
  photoBlob = null;
  $("photo-preview").hidden = true;
  $("photo-label").textContent = t("phone.photo.take");
  chosenClass = null;
  drawClasses();
  showErrors({});
  if (patrol) refreshPatrol();
}

// --- tasks and verification --------------------------------------------------------------------

function resultForm(label, fields, onSubmit) {
  const form = el("form", { class: "ph-inline", novalidate: true });
  for (const f of fields) {
    const id = `${f.name}-${Math.random().toString(36).slice(2, 8)}`;
    form.append(el("label", { for: id }, f.label),
      f.type === "file" ? el("input", { id, name: f.name, type: "file", accept: "image/*", capture: "environment" })
        : el("textarea", { id, name: f.name, rows: "2", maxlength: "2000" }));
  }
  const err = el("p", { class: "ph-error", role: "alert" });
  const button = el("button", { type: "submit", class: "ph-btn ph-primary" }, label);
  form.append(err, button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try { await onSubmit(form, err); } catch (e) { err.textContent = fieldError(e)[1]; } finally { button.disabled = false; }
  });
  return form;
}

const FRESH_MS = 30_000;
const loadedAt = { tasks: 0, verify: 0 };
const inFlight = { tasks: false, verify: false };

function loadTasks() { return once("tasks", drawTasks); }
function loadVerify() { return once("verify", drawVerify); }

async function once(key, draw) {
  if (inFlight[key]) return;
  inFlight[key] = true;
  try { await draw(); loadedAt[key] = Date.now(); } finally { inFlight[key] = false; }
}

async function drawTasks() {
  const box = $("task-list");
  let items;
  try { items = await get("/api/my/tasks"); } catch (e) { clear(box).append(el("p", { class: "ph-error" }, fieldError(e)[1])); return; }
  clear(box);
  $("count-tasks").textContent = items.length ? String(items.length) : "";
  if (!items.length) box.append(el("p", { class: "muted" }, t("phone.tasks.empty")));
  for (const k of items) {
    const path = `/api/events/${encodeURIComponent(k.number)}/tasks/${k.task_id}`;
    const acts = new Set(k.allowed_actions || []);
    const card = el("article", { class: "ph-card", "data-number": k.number },
      el("strong", {}, k.title), " ", el("span", { class: "badge" }, t(`task_state.${k.task_state}`)),
      el("p", { class: "muted small" }, [k.number, k.class_name, k.address].filter(Boolean).join(" · ")),
      k.instruction ? el("p", {}, k.instruction) : null,
      el("p", { class: "small" }, `${t("phone.tasks.due")}：${fmtShortTime(k.handle_due_at)}`));
    if (acts.has("accept")) {
      card.append(el("button", { type: "button", class: "ph-btn ph-primary", onclick: async (ev) => {
        ev.target.disabled = true;
        try { await post(`${path}/accept`, {}); loadTasks(); } catch (e) { toast(fieldError(e)[1], "error"); ev.target.disabled = false; }
      } }, t("phone.tasks.accept")));
    }
    if (acts.has("report_back")) {
      card.append(resultForm(t("phone.tasks.send"), [
        { name: "result", label: t("phone.tasks.result") }, { name: "photo", label: t("phone.tasks.photo"), type: "file" }],
      async (form, err) => {
        const result = form.result.value.trim();
        if (!result) { err.textContent = t("phone.tasks.result_required"); return; }
        const file = form.photo.files[0];
        if (file) await uploadPhoto(k.number, await shrink(file), k.task_id);
        await post(`${path}/report-back`, { result });
        toast(t("phone.tasks.done"));
        loadTasks();
        loadVerify();  // a case reported back may now wait for a check (by someone else, if it is his own)
      }));
    }
    box.append(card);
  }
}

async function drawVerify() {
  const box = $("verify-list");
  let items;
  try { items = await get("/api/phone/verifications"); } catch (e) { clear(box).append(el("p", { class: "ph-error" }, fieldError(e)[1])); return; }
  clear(box);
  const mine = items.filter((v) => !v.own).length;
  $("count-verify").textContent = mine ? String(mine) : "";
  if (!items.length) box.append(el("p", { class: "muted" }, t("phone.verify.empty")));
  for (const v of items) {
    const path = `/api/events/${encodeURIComponent(v.number)}/verify`;
    const card = el("article", { class: "ph-card", "data-number": v.number },
      el("strong", {}, v.title),
      el("p", { class: "muted small" }, [v.number, v.area_name, v.address].filter(Boolean).join(" · ")));
    if (v.own) { card.append(el("p", { class: "ph-note" }, t("phone.verify.own"))); box.append(card); continue; }
    card.append(resultForm(t("phone.verify.pass"), [{ name: "photo", label: t("phone.verify.photo"), type: "file" }],
      async (form) => {
        const file = form.photo.files[0];
        if (file) await uploadPhoto(v.number, await shrink(file));
        await post(path, { passed: true, expected_version: v.version });
        toast(t("phone.verify.done"));
        loadVerify();
      }));
    card.append(resultForm(t("phone.verify.fail"), [{ name: "reason", label: t("phone.verify.reason") }],
      async (form, err) => {
        const reason = form.reason.value.trim();
        if (!reason) { err.textContent = t("phone.verify.reason_required"); return; }
        await post(path, { passed: false, reason, expected_version: v.version });
        toast(t("phone.verify.done"));
        loadVerify();
      }));
    box.append(card);
  }
}

// --- the patrol log: start/stop, a point every N seconds or M metres while the page is open ------------

const pendingPoints = () => { try { return JSON.parse(localStorage.getItem(TRACK) || "[]"); } catch { return []; } };
const keepPoints = (list) => localStorage.setItem(TRACK, JSON.stringify(list.slice(-2000)));

function drawPatrol() {
  const running = !!patrol && patrol.running;
  $("patrol-state").textContent = running ? t("phone.patrol.running") : t("phone.patrol.idle");
  $("patrol-toggle").textContent = running ? t("phone.patrol.stop") : t("phone.patrol.start");
  $("patrol-toggle").classList.toggle("ph-warn", running);
  const p = patrol;
  $("pt-duration").textContent = p ? t("phone.min", { min: Math.round(p.duration_s / 60) }) : "—";
  $("pt-distance").textContent = p ? t("phone.km", { km: (p.distance_m / 1000).toFixed(2) }) : "—";
  $("pt-points").textContent = p ? String(p.point_count) : "—";
  $("pt-findings").textContent = p ? String(p.findings) : "—";
  document.body.dataset.patrol = running ? String(p.id) : "";
}

let flushing = false;

async function flushPoints() {
  if (!patrol || !patrol.running || flushing) return;
  const list = pendingPoints();
  if (!list.length) return;
  flushing = true;
  // points sampled while this request is out stay in the store, behind the ones sent
  const rest = () => pendingPoints().slice(list.length);
  try {
    patrol = await send("POST", `/api/patrols/${patrol.id}/points`, { points: list });
    keepPoints(rest());
    $("err-patrol").textContent = "";
  } catch (e) {
    if (!isNetwork(e)) await refused(e, list, rest());  // a network failure keeps them for the next sample
  } finally {
    flushing = false;
  }
  drawPatrol();
}

// A refused point (outside the grid, a GPS jump) is dropped and the rest go again; points the server already
// has (an answer lost on the way back) are recognised by time and dropped quietly.
async function refused(e, list, later) {
  const code = e.body && e.body.details && e.body.details.code;
  if (e.status === 409 || e.status === 404) { patrol = null; keepPoints([]); stopSampling(); return; }
  if (code === "out_of_order") {
    try { patrol = await get(`/api/patrols/${patrol.id}`); } catch { return; }
    const last = patrol.last_point ? Date.parse(patrol.last_point.at) : 0;
    const fresh = [...list, ...later].filter((p) => Date.parse(p.at) > last);
    keepPoints(fresh);
    if (fresh.length === list.length + later.length) $("err-patrol").textContent = t("phone.err.out_of_order");
    return;
  }
  $("err-patrol").textContent = t(code === "outside_area" ? "phone.err.outside_track"
    : code === "too_fast" ? "phone.err.too_fast" : "phone.err.patrol");
  const m = /points\[(\d+)\]/.exec((e.body && e.body.field) || "");
  if (m) list.splice(Number(m[1]), 1); else list.length = 0;
  keepPoints([...list, ...later]);
}

function sample(every) {
  navigator.geolocation.getCurrentPosition((pos) => {
    const p = { lon: pos.coords.longitude, lat: pos.coords.latitude, at: new Date().toISOString(), accuracy_m: pos.coords.accuracy || null };
    const prev = lastSent;
    const seconds = prev ? (Date.parse(p.at) - Date.parse(prev.at)) / 1000 : Infinity;
    if (prev && seconds < every && metres(prev, p) < home.sample.metres) return;
    lastSent = p;
    fix = { lon: p.lon, lat: p.lat, accuracy: p.accuracy_m, at: new Date(p.at) };
    keepPoints([...pendingPoints(), p]);
    flushPoints();
  }, () => {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 });
}

function startSampling() {
  stopSampling();
  // ?every=N (seconds) samples faster, for trying the page out; the grid's default comes from the server
  const every = Number(new URLSearchParams(location.search).get("every")) || home.sample.seconds;
  const tick = Math.max(1, Math.min(every, 5));
  $("patrol-hint").textContent = t("phone.patrol.keep_open", { s: every, m: home.sample.metres });
  sample(every);
  sampler = setInterval(() => sample(every), tick * 1000);
}

function stopSampling() { if (sampler) clearInterval(sampler); sampler = null; }

async function refreshPatrol() {
  if (!patrol) return;
  try { patrol = await get(`/api/patrols/${patrol.id}`); } catch { /* shown as it was */ }
  drawPatrol();
}

async function togglePatrol() {
  const button = $("patrol-toggle");
  button.disabled = true;
  $("err-patrol").textContent = "";
  try {
    if (patrol && patrol.running) {
      await flushPoints();
      const done = await send("POST", `/api/patrols/${patrol.id}/stop`, {});
      stopSampling();
      toast(t("phone.patrol.stopped", { km: (done.distance_m / 1000).toFixed(2), min: Math.round(done.duration_s / 60) }));
      patrol = null;
      lastSent = null;
      keepPoints([]);
      loadRecent();
    } else {
      const here = await locate(true);
      const point = here ? { lon: here.lon, lat: here.lat, at: new Date().toISOString(), accuracy_m: here.accuracy || null } : null;
      try {
        patrol = await send("POST", "/api/patrols", { point });
        lastSent = point;
      } catch (e) {
        if (!(e instanceof ApiError) || !point) throw e;
        patrol = await send("POST", "/api/patrols", {});  // start where the grid is; points follow inside it
        $("err-patrol").textContent = t("phone.err.outside_track");
      }
      startSampling();
    }
  } catch (e) {
    $("err-patrol").textContent = fieldError(e)[1];
  } finally {
    button.disabled = false;
    drawPatrol();
  }
}

async function loadRecent() {
  const box = $("patrol-recent");
  let items = [];
  try { items = await get("/api/patrols?limit=5"); } catch { return; }
  clear(box);
  if (!items.length) box.append(el("li", { class: "muted" }, t("phone.patrol.none")));
  for (const p of items) {
    box.append(el("li", { "data-patrol": p.id }, `${fmtShortTime(p.started_at)} · `,
      t("phone.km", { km: (p.distance_m / 1000).toFixed(2) }), " · ", t("phone.min", { min: Math.round(p.duration_s / 60) }),
      ` · ${t("phone.patrol.findings")} ${p.findings}`));
  }
}

// --- tabs and start ------------------------------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll(".ph-tabs button")) {
    if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  for (const s of document.querySelectorAll(".ph-tab")) s.hidden = s.id !== `tab-${name}`;
  // a list drawn moments ago is not drawn again: that would wipe a result or a photo being filled in
  const stale = (key) => !inFlight[key] && Date.now() - loadedAt[key] > FRESH_MS;
  if (name === "tasks" && stale("tasks")) loadTasks();
  if (name === "verify" && stale("verify")) loadVerify();
  if (name === "patrol") loadRecent();
}

async function main() {
  for (const b of document.querySelectorAll(".ph-tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("ph-signout").addEventListener("click", async () => {
    try { await post("/api/auth/logout", {}); } catch { /* signed out anyway */ }
    session.clear();
    location.href = "/login?next=/m";
  });
  $("finding").addEventListener("submit", submitFinding);
  $("gps-retry").addEventListener("click", () => { manual = false; fix = null; $("manual").hidden = true; locate(true); });
  $("gps-manual").addEventListener("click", showManual);
  $("class-search").addEventListener("input", drawClasses);
  $("photo").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    $("err-photo").textContent = "";
    if (!file) return;
    if (!/^image\//.test(file.type)) { $("err-photo").textContent = t("phone.err.photo_type"); return; }
    $("photo-label").textContent = t("phone.photo.shrinking");
    photoBlob = await shrink(file);
    $("photo-preview").src = URL.createObjectURL(photoBlob);
    $("photo-preview").hidden = false;
    $("photo-label").textContent = t("phone.photo.again");
  });
  $("patrol-toggle").addEventListener("click", togglePatrol);

  const who = await me();
  $("ph-name").textContent = who.name;
  locate();
  try { home = await get("/api/phone/home"); } catch (e) { $("err-form").textContent = fieldError(e)[1]; return; }
  $("ph-grid").textContent = home.area.name;
  const grid = clear($("grid"));
  for (const g of home.grids) grid.append(el("option", { value: g.code }, g.name));
  drawClasses();
  patrol = home.running;
  $("patrol-toggle").hidden = !home.can_patrol;
  if (patrol) startSampling();
  drawPatrol();
  saveDrafts(drafts());
  retryDrafts();
  loadTasks();
  loadVerify();
  setInterval(() => { if (patrol && patrol.running) patrol.duration_s += 1; if (sampler) drawPatrol(); }, 1000);
  document.body.dataset.ready = "1";
}

main();
