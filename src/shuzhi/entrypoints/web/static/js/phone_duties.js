// The grid worker's phone (/m), patrol tab: my duty list (履职清单 "6+1", issue #20) — the items due this
// day, week and month and the overdue ones, each done on the spot by the latest patrol or by a visit.
// Its own module beside phone.js (like phone_risk.js); only the messages the phone page carries (phone.*).
import { ApiError, clear, el, fmtShortTime, get, post, t, toast } from "./core.js";

const $ = (id) => document.getElementById(id);

function here() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve({}); return; }
    navigator.geolocation.getCurrentPosition((p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude }),
      () => resolve({}), { timeout: 3000, maximumAge: 60000 });
  });
}

// the API's refusal at its field, in the phone's own words
function refusal(e) {
  if (!(e instanceof ApiError)) return t("phone.duty.failed");
  const b = e.body || {};
  const code = (b.details && b.details.code) || "";
  if (e.status === 409) return t("phone.duty.err.done");
  if (b.field === "patrol_id") return code === "outside_period" ? t("phone.duty.err.period") : t("phone.duty.err.patrol");
  if (b.field === "note") return t("phone.duty.err.note");
  return t("phone.duty.failed");
}

async function done(item, body, err) {
  err.textContent = "";
  try {
    await post(`/api/phone/duties/${item.id}/done`, { ...body, ...(body.patrol_id ? {} : await here()) });
  } catch (e) { err.textContent = refusal(e); return; }
  toast(t("phone.duty.recorded", { title: item.title }));
  draw();
}

async function byPatrol(item, err) {
  let recent = [];
  try { recent = await get("/api/patrols?limit=1"); } catch { /* said below */ }
  if (!recent.length) { err.textContent = t("phone.duty.err.no_patrol"); return; }
  await done(item, { patrol_id: recent[0].id }, err);
}

function card(i) {
  const err = el("p", { class: "ph-error", role: "alert" });
  const li = el("li", { class: `ph-duty duty-${i.state}`, "data-duty": i.id, "data-state": i.state },
    el("strong", {}, i.title), " ", el("span", { class: "badge" }, t(`phone.duty.state.${i.state}`)),
    el("p", { class: "muted small" }, [t(`phone.duty.freq.${i.frequency}`), i.place, i.grid.name].filter(Boolean).join(" · ")),
    el("p", { class: "small" }, i.done_at ? t("phone.duty.done_at", { at: fmtShortTime(i.done_at) })
      : t("phone.duty.due", { at: fmtShortTime(i.due_at) })));
  if (!i.done_at) {
    if (i.done_by !== "visit") {
      li.append(el("button", { type: "button", class: "ph-btn ph-small duty-patrol",
        onclick: async (ev) => { ev.target.disabled = true; await byPatrol(i, err); ev.target.disabled = false; } },
      t("phone.duty.by_patrol")));
    }
    if (i.done_by !== "patrol") {
      const note = el("textarea", { rows: "2", maxlength: "500", name: "note", "aria-label": t("phone.duty.note") });
      const form = el("form", { class: "ph-inline duty-visit", novalidate: true },
        el("label", {}, t("phone.duty.note"), note),
        el("button", { type: "submit", class: "ph-btn ph-primary" }, t("phone.duty.by_visit")));
      form.addEventListener("submit", (ev) => { ev.preventDefault(); done(i, { note: note.value.trim() }, err); });
      li.append(form);
    }
  }
  li.append(err);
  return li;
}

async function draw() {
  const box = $("duty-list");
  if (!box) return;
  let items;
  try { items = await get("/api/phone/duties"); } catch { return; }  // no grid team: the section stays hidden
  $("duty-section").hidden = !items.length;
  const open = items.filter((i) => !i.done_at).length;
  $("count-duty").textContent = open ? String(open) : "";
  clear(box);
  for (const i of items) box.append(card(i));
  box.dataset.ready = "1";
}

draw();
for (const b of document.querySelectorAll(".ph-tabs button[data-tab='patrol']")) b.addEventListener("click", draw);
