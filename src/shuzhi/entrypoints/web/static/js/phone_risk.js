// The grid worker's phone (/m), patrol tab: the risk points of one's grid (风险点) with their state, the
// ones due a check first, and a check recorded on the spot — 正常 at once, 异常 with what is wrong.
// Its own module beside phone.js, so that the patrol log's code stays as it is; like phone.js it uses
// only the phone's messages (phone.*), the ones the page carries.
import { ApiError, clear, el, fmtShortTime, get, post, t, toast } from "./core.js";

const $ = (id) => document.getElementById(id);

function here() {
  // the position is a courtesy on the record, never a condition: a worker under a bridge still records
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve({}); return; }
    navigator.geolocation.getCurrentPosition((p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude }),
      () => resolve({}), { timeout: 3000, maximumAge: 60000 });
  });
}

async function check(point, result, note, err, form) {
  err.textContent = "";
  if (result === "abnormal" && !note.trim()) { err.textContent = t("phone.risk.note_required"); return; }
  try {
    await post(`/api/risk-points/${encodeURIComponent(point.code)}/checks`, { result, note, ...(await here()) });
  } catch (e) {
    // the phone carries only its own messages: a refusal it could not foresee is said plainly
    err.textContent = e instanceof ApiError && e.status === 404 ? t("phone.risk.gone") : t("phone.risk.failed");
    return;
  }
  toast(t("phone.risk.recorded", { name: point.name }));
  if (form) form.hidden = true;  // recorded: the next draw does not keep it as a draft
  draw();
}

function item(p) {
  const err = el("p", { class: "ph-error", role: "alert" });
  const note = el("textarea", { rows: "2", maxlength: "2000", "aria-label": t("phone.risk.note") });
  const abnormal = el("form", { class: "ph-inline", hidden: true, novalidate: true },
    el("label", {}, t("phone.risk.note"), note),
    el("button", { type: "submit", class: "ph-btn ph-primary" }, t("phone.risk.report_abnormal")));
  abnormal.addEventListener("submit", (ev) => { ev.preventDefault(); check(p, "abnormal", note.value, err, abnormal); });
  const last = p.last_checked_at ? t("phone.risk.last", { at: fmtShortTime(p.last_checked_at) }) : t("phone.risk.never");
  return el("li", { class: `ph-risk risk-${p.state}`, "data-code": p.code, "data-state": p.state },
    el("p", {}, el("strong", {}, p.name), " ", el("span", { class: "muted" }, `${p.kind_name} · ${t(`phone.risk.state.${p.state}`)}`)),
    el("p", { class: p.check_due ? "ph-note" : "muted small" }, p.check_due ? `${t("phone.risk.due")} · ${last}` : last),
    el("div", { class: "ph-row" },
      el("button", { type: "button", class: "ph-btn ph-small", "data-result": "normal", onclick: () => check(p, "normal", "", err) },
        t("phone.risk.normal")),
      el("button", { type: "button", class: "ph-btn ph-small", "data-result": "abnormal",
        onclick: () => { abnormal.hidden = false; note.focus(); } }, t("phone.risk.abnormal"))),
    abnormal, err);
}

// What the worker was writing survives a redraw (after a check on another point, or the tab clicked
// again): an open 异常 form and its text are put back on the point's new row.
function drafts(box) {
  const kept = new Map();
  for (const li of box.querySelectorAll("li[data-code]")) {
    const form = li.querySelector("form");
    if (form && !form.hidden) kept.set(li.dataset.code, li.querySelector("textarea").value);
  }
  return kept;
}

function restore(box, kept) {
  for (const [code, text] of kept) {
    const li = box.querySelector(`li[data-code="${CSS.escape(code)}"]`);
    if (!li) continue;
    li.querySelector("form").hidden = false;
    li.querySelector("textarea").value = text;
  }
}

// One list request at a time, and the last word is the latest: a draw asked for while one is on the way
// (the tab clicked during the first load, a check recorded) runs once more when it ends. `data-ready` is
// cleared at once and set when nothing more is asked, so a reader waits for the list as it now is.
let drawing = null;
let again = false;

function draw() {
  const box = $("risk-list");
  box.dataset.ready = "";
  if (drawing) { again = true; return drawing; }
  drawing = (async () => {
    do { again = false; await load(box); } while (again);
    box.dataset.ready = "1";
  })().finally(() => { drawing = null; });
  return drawing;
}

async function load(box) {
  let points;
  try { points = await get("/api/risk-points?limit=500"); } catch (e) { return; }
  $("risk-section").hidden = !points.length;
  points.sort((a, b) => Number(b.check_due) - Number(a.check_due) || a.code.localeCompare(b.code));
  const kept = drafts(box);
  clear(box).append(...points.map(item));
  restore(box, kept);
}

document.querySelector(".ph-tabs button[data-tab='patrol']")?.addEventListener("click", draw);
draw();
