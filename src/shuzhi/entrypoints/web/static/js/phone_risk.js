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

async function check(point, result, note, err) {
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
  draw();
}

function item(p) {
  const err = el("p", { class: "ph-error", role: "alert" });
  const note = el("textarea", { rows: "2", maxlength: "2000", "aria-label": t("phone.risk.note") });
  const abnormal = el("form", { class: "ph-inline", hidden: true, novalidate: true },
    el("label", {}, t("phone.risk.note"), note),
    el("button", { type: "submit", class: "ph-btn ph-primary" }, t("phone.risk.report_abnormal")));
  abnormal.addEventListener("submit", (ev) => { ev.preventDefault(); check(p, "abnormal", note.value, err); });
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

async function draw() {
  const box = $("risk-list");
  let points;
  try { points = await get("/api/risk-points?limit=500"); } catch (e) { return; }
  $("risk-section").hidden = !points.length;
  points.sort((a, b) => Number(b.check_due) - Number(a.check_due) || a.code.localeCompare(b.code));
  clear(box).append(...points.map(item));
  box.dataset.ready = "1";
}

document.querySelector(".ph-tabs button[data-tab='patrol']")?.addEventListener("click", draw);
draw();
