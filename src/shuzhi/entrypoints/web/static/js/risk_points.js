// Risk point rectification (整改闭环, issue #22): the open rectifications in scope (nearest deadline first,
// overdue marked), and one point with its loop — found → measures with a deadline in working days → done →
// verified (or rejected back to work, or cancelled) — and its timeline. Text only, no HTML.
import { clear, el, errorText, fmtShortTime, fmtTime, get, post, shell, t, toast } from "./core.js";

const $ = (id) => document.getElementById(id);
let current = null;

function clockText(r) {
  if (!r.deadline_at) return t("common.none");
  const when = fmtShortTime(r.deadline_at);
  return r.clock ? `${when} · ${t(`rect.clock.${r.clock}`)}` : when;
}

async function loadOpen() {
  // the table is emptied once the answer is here, so that it never stands empty while the list reloads
  let rows;
  try { rows = await get("/api/rectifications"); } catch (e) {
    clear($("rect-open").tBodies[0]).append(el("tr", {}, el("td", { colspan: 4 }, errorText(e)))); return;
  }
  const body = clear($("rect-open").tBodies[0]);
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 4 }, t("rect.none_open"))));
  for (const r of rows) {
    body.append(el("tr", { "data-code": r.point_code, "data-clock": r.clock || "" },
      el("th", { scope: "row" }, el("a", { href: `?code=${encodeURIComponent(r.point_code)}`, onclick: (ev) => { ev.preventDefault(); openPoint(r.point_code); } }, r.point_name)),
      el("td", {}, t(`rect.state.${r.state}`)), el("td", { class: r.clock === "overdue" ? "gov-bad" : "" }, clockText(r)),
      el("td", {}, r.responsible_unit_name)));
  }
}

function problem(box, e) { box.textContent = errorText(e); }

function stepForm(point, r) {
  const err = el("p", { class: "field-error", role: "alert" });
  const forms = [];
  const act = async (action, body) => {
    err.textContent = "";
    try { await post(`/api/risk-points/${encodeURIComponent(point.code)}/rectifications/${r.id}`, { action, version: r.version, ...body }); }
    catch (e) { problem(err, e); return; }
    toast(t(`rect.done.${action}`));
    await openPoint(point.code);
    loadOpen();
  };
  if (r.actions.includes("measures")) {
    const measures = el("textarea", { rows: "2", maxlength: "2000", id: "rect-measures" });
    const days = el("input", { type: "number", min: "1", max: "250", value: r.working_days || 5, id: "rect-days" });
    const f = el("form", { class: "rect-form", novalidate: true, "data-action": "measures" },
      el("label", {}, t("rect.measures"), measures), el("label", {}, t("rect.working_days"), days),
      el("button", { class: "btn primary", type: "submit" }, r.state === "found" ? t("rect.set_measures") : t("rect.revise_measures")));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); act("measures", { measures: measures.value, working_days: Number(days.value) }); });
    forms.push(f);
  }
  const noted = (action) => {
    const note = el("input", { maxlength: "2000", id: `rect-note-${action}` });
    const f = el("form", { class: "rect-form inline-form", novalidate: true, "data-action": action },
      el("label", {}, t(`rect.note.${action}`), note), el("button", { class: `btn ${action === "verified" || action === "done" ? "primary" : ""}`, type: "submit" }, t(`rect.action.${action}`)));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); act(action, { note: note.value }); });
    return f;
  };
  for (const a of ["done", "verified", "rejected", "cancelled"]) if (r.actions.includes(a)) forms.push(noted(a));
  return el("div", { class: "rect-steps" }, forms, err);
}

function currentBox(point) {
  const box = clear($("rect-current"));
  const r = point.rectifications.find((x) => ["found", "in_progress", "done"].includes(x.state));
  $("rect-start").hidden = Boolean(r);
  if (!r) { box.append(el("p", { class: "muted" }, t("rect.none_for_point"))); return; }
  box.append(el("dl", { class: "rect-facts", "data-state": r.state, "data-clock": r.clock || "" },
    el("dt", {}, t("rect.state")), el("dd", { id: "rect-state" }, t(`rect.state.${r.state}`)),
    el("dt", {}, t("rect.finding")), el("dd", {}, r.finding),
    el("dt", {}, t("rect.measures")), el("dd", {}, r.measures || t("common.none")),
    el("dt", {}, t("rect.deadline")), el("dd", { id: "rect-deadline", class: r.clock === "overdue" ? "gov-bad" : "" }, clockText(r)),
    r.done_note ? [el("dt", {}, t("rect.done_note")), el("dd", {}, r.done_note)] : ""),
  stepForm(point, r));
}

async function openPoint(code) {
  let point;
  try { point = await get(`/api/risk-points/${encodeURIComponent(code)}`); } catch (e) { toast(errorText(e), "error"); return; }
  current = point;
  history.replaceState(null, "", `?code=${encodeURIComponent(code)}`);
  $("rect-point").hidden = false;
  $("rect-point-h").textContent = `${point.name}（${point.code}）`;
  const st = $("rect-point-state");
  st.textContent = t(`risk.state.${point.state}`);
  st.className = `risk-state risk-${point.state}`;
  st.dataset.state = point.state;
  $("rect-point-facts").textContent = t("rect.facts", { kind: point.kind_name, area: point.area_name || "", unit: point.responsible_unit_name || "" });
  currentBox(point);
  const tl = clear($("rect-timeline"));
  if (!point.timeline.length) tl.append(el("li", { class: "muted" }, t("common.empty")));
  for (const x of point.timeline) {
    tl.append(el("li", { "data-action": x.action }, el("time", {}, fmtTime(x.at)), ` ${x.actor} · `,
      el("strong", {}, t(`action.${x.action}`)), x.reason ? `：${x.reason}` : ""));
  }
  document.body.dataset.ready = "1";
}

async function main() {
  shell();
  $("rect-find").addEventListener("submit", (ev) => { ev.preventDefault(); openPoint($("rect-code").value.trim()); });
  $("rect-start").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("rect-finding-error");
    err.textContent = "";
    try { await post(`/api/risk-points/${encodeURIComponent(current.code)}/rectifications`, { finding: $("rect-finding").value }); }
    catch (e) { problem(err, e); return; }
    $("rect-finding").value = "";
    toast(t("rect.started"));
    await openPoint(current.code);
    loadOpen();
  });
  await loadOpen();
  const code = new URLSearchParams(location.search).get("code");
  if (code) await openPoint(code); else document.body.dataset.ready = "1";
}

main();
