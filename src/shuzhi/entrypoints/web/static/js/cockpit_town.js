// The town's own cockpit on the cockpit page (issue #20), for the people of one town: its boards' load
// and overdue work, the grids' patrol coverage, grid workers reporting a position, running plans. Loaded
// by cockpit.js only after the first screen is drawn, so it adds nothing in front of the map; the map of
// the town's workers is on /levels?area=<town>. It stands where the ranking of towns stood.
import { clear, el, get, me, t } from "./core.js";

export async function loadTownCockpit(townCode = null) {
  let code = townCode;
  if (!code) {
    const who = await me();
    // the scope lists its areas (and "unit:<code>" for the unit's own tasks elsewhere)
    const codes = (who.scopeCodes || []).filter((c) => /^\d+$/.test(c));
    if (codes.length !== 1 || codes[0].length !== 9) return;  // a town's code has 9 digits (domain/areas.py)
    code = codes[0];
  }
  let town;
  try { town = await get(`/api/towns/${encodeURIComponent(code)}/cockpit`); } catch (e) { return; }
  const panel = document.getElementById("town-cockpit-panel");
  document.getElementById("town-cockpit-link").href = `/levels?area=${encodeURIComponent(town.town.code)}`;
  const c = town.coverage;
  const pct = c.share === null ? "—" : `${(c.share * 100).toFixed(0)}%`;
  clear(document.getElementById("town-cockpit")).append(
    el("p", { class: "small", id: "town-cockpit-summary" }, t("town_cockpit.summary", {
      pct, n: c.days, workers: town.workers.length, plans: town.plans === null ? "—" : town.plans.length })),
    el("table", { class: "town-boards" },
      el("thead", {}, el("tr", {}, ["town_cockpit.board", "town_cockpit.open", "town_cockpit.overdue"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, town.boards.map((b) => el("tr", { "data-unit": b.unit_code }, el("th", { scope: "row" }, b.name),
        el("td", { class: "num" }, String(b.open)), el("td", { class: `num${b.overdue ? " overdue" : ""}` }, String(b.overdue)))))));
  // it takes the place of the ranking (区域在办排行), which for one town is a single line: no new row,
  // so the first screen's charts keep their size (app.css: .town-cockpit-panel { grid-area: rank })
  document.getElementById("rank").closest("section").hidden = true;
  panel.hidden = false;
}
