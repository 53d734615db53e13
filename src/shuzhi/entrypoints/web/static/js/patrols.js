// 巡查记录 for the centre: the patrols of the grid workers in one's area, newest first (who, which grid,
// when, how long, how far, findings), filtered by person, day and running; a patrol's track is drawn
// from its own points (no map tiles) with the findings reported on it.
import { clear, el, errorText, fmtTime, get, shell, t, localDayIso } from "./core.js";

const $ = (id) => document.getElementById(id);
const km = (m) => (m / 1000).toFixed(2);
const minutes = (s) => Math.round(s / 60);

function trackSvg(track) {
  if (!track || track.type !== "LineString") return el("p", { class: "muted" }, t("pl.no_track"));
  const pts = track.coordinates;
  const xs = pts.map((p) => p[0]); const ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0) || 1e-6;
  const at = (p) => `${(((p[0] - x0) / span) * 280 + 10).toFixed(1)},${(290 - ((p[1] - y0) / span) * 280).toFixed(1)}`;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 300 300");
  svg.setAttribute("class", "pl-track");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("pl.track"));
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts.map(at).join(" "));
  svg.append(line);
  return svg;
}

async function show(id) {
  const box = clear($("pl-detail"));
  $("pl-detail-panel").hidden = false;
  let p;
  try { p = await get(`/api/patrols/${id}`); } catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
  $("pl-detail-h").textContent = t("pl.detail_h", { who: p.person_name, when: fmtTime(p.started_at) });
  box.append(el("dl", { class: "kv" },
    el("dt", {}, t("pl.grid")), el("dd", {}, p.area_name),
    el("dt", {}, t("pl.duration")), el("dd", {}, t("pl.minutes", { n: minutes(p.duration_s) })),
    el("dt", {}, t("pl.distance")), el("dd", {}, t("pl.km", { n: km(p.distance_m) })),
    el("dt", {}, t("pl.points")), el("dd", {}, p.point_count)),
  trackSvg(p.track),
  el("h3", {}, t("pl.findings")),
  p.finding_events.length ? el("ul", { class: "plain-list", id: "pl-findings" }, p.finding_events.map((f) => el("li", {},
    el("a", { href: `/events/${encodeURIComponent(f.number)}` }, f.number), ` ${f.title} · ${fmtTime(f.received_at)}`)))
    : el("p", { class: "muted" }, t("pl.no_findings")));
}

async function load() {
  const body = clear($("pl-body"));
  const q = new URLSearchParams({ limit: "200" });
  const person = $("pl-person").value.trim();
  if (person) q.set("person", person);
  const day = $("pl-day").value;
  if (day) {
    q.set("since", localDayIso(day));
    const next = new Date(`${day}T00:00:00+08:00`); next.setUTCDate(next.getUTCDate() + 1);
    q.set("until", next.toISOString());
  }
  if ($("pl-running").value) q.set("running", $("pl-running").value);
  let list;
  try { list = await get(`/api/patrols?${q}`); } catch (e) {
    body.append(el("tr", {}, el("td", { colspan: 8 }, errorText(e)))); document.body.dataset.ready = "1"; return;
  }
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: 8 }, t("pl.none"))));
  for (const p of list) {
    body.append(el("tr", { "data-patrol": p.id },
      el("th", { scope: "row" }, `${p.person_name}（${p.person_code}）`), el("td", {}, p.area_name),
      el("td", {}, fmtTime(p.started_at)), el("td", {}, p.running ? t("pl.running") : fmtTime(p.ended_at)),
      el("td", {}, minutes(p.duration_s)), el("td", {}, km(p.distance_m)), el("td", {}, p.findings),
      el("td", {}, el("button", { type: "button", class: "btn small", "aria-label": `${t("pl.view")} ${p.person_name}`,
        onclick: () => show(p.id) }, t("pl.view")))));
  }
  $("pl-count").textContent = t("pl.count", { n: list.length, km: km(list.reduce((a, p) => a + p.distance_m, 0)),
    findings: list.reduce((a, p) => a + p.findings, 0) });
  document.body.dataset.ready = "1";
}

(async () => {
  await shell();
  $("pl-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  await load();
})();
