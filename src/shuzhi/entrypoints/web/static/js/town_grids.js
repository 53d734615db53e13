// 镇街架构, the grid (一网格, issue #20): each grid's team "1+3+N" (roles, people, primary membership), its
// layer (the dual grid), its chain of contacts (五长制) and this month's duty completion; the overdue duty
// items of the town. The town's administrator edits his own grids' teams, layers and chains here.
import { api, badge, clear, el, empty, errorText, fmtShortTime, get, t, toast } from "./core.js";

const pick = () => document.getElementById("town-pick");
let town = null;
let view = null;

const pct = (r) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(1)}%`);
const who = (p) => `${p.name}（${p.code}）`;

// lines "a，b，c" (， or ,) → arrays of trimmed parts; empty lines skipped
function rows(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.split(/[，,]/).map((x) => x.trim()));
}

function teamForm(g) {
  const roleKey = (x) => (view.roles.find((r) => r.key === x || r.name === x) || { key: x }).key;
  const layer = el("select", { name: "layer" }, view.layers.map((l) => el("option", { value: l.key, selected: l.key === g.layer }, l.name)));
  const members = el("textarea", { name: "members", rows: 5 },
    g.members.map((m) => `${m.role_name}，${m.code}${m.primary ? `，${t("town.grid.primary")}` : ""}`).join("\n"));
  const chain = el("textarea", { name: "contacts", rows: 5 },
    g.contacts.map((c) => {
      const parent = g.contacts.findIndex((x) => x.id === c.parent_id);
      return `${c.link_name}，${c.place}，${c.person.code}${parent >= 0 ? `，${parent + 1}` : ""}`;
    }).join("\n"));
  const error = el("p", { class: "error", role: "alert" });
  const linkKey = (x) => (view.chain.find((c) => c.key === x || c.name === x) || { key: x }).key;
  const form = el("form", { class: "action-form grid-edit", hidden: true },
    el("label", {}, t("town.grid.layer"), layer),
    el("label", {}, t("town.grid.edit.members"), members),
    el("label", {}, t("town.grid.edit.contacts"), chain), error,
    el("button", { type: "submit", class: "btn primary" }, t("town.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const base = `/api/towns/${encodeURIComponent(town)}/grids/${encodeURIComponent(g.code)}`;
    try {
      const team = rows(members.value).map(([role, code, primary]) => ({
        role: roleKey(role || ""), person_code: code || "", primary: primary === t("town.grid.primary") }));
      await api("PUT", `${base}/team`, { layer: layer.value, members: team });
      const contacts = rows(chain.value).map(([link, place, code, parent]) => ({
        link: linkKey(link || ""), place: place || "", person_code: code || "",
        parent: parent ? Number(parent) - 1 : null }));
      await api("PUT", `${base}/contacts`, { contacts });
      toast(t("town.saved"));
      load();
    } catch (e) { error.textContent = errorText(e); }
  });
  return form;
}

function gridCard(g) {
  const form = view.can_edit ? teamForm(g) : null;
  const d = g.duties;
  return el("article", { class: "card town-grid", "data-grid": g.code },
    el("header", { class: "card-head" }, el("strong", {}, g.name), " ",
      badge(g.layer_name, g.layer === "governance" ? "" : "warn")),
    el("h3", {}, t("town.grid.team")),
    g.members.length ? el("ul", { class: "town-posts" }, g.members.map((m) => el("li", { "data-person": m.code },
      el("span", {}, m.role_name), " ", el("span", { class: "muted" }, who(m)),
      m.primary ? badge(t("town.grid.primary")) : null))) : empty(t("town.grid.no_team")),
    el("h3", {}, t("town.grid.chain")),
    g.contacts.length ? el("ul", { class: "town-chain" }, g.contacts.map((c) => el("li", { class: `link-${c.link}` },
      el("span", {}, c.link_name), " ", c.place, " ", el("span", { class: "muted" }, who(c.person))))) : empty(t("common.none")),
    el("p", { class: "small grid-duties" }, t("town.grid.duties", { due: d.due, on_time: d.on_time, overdue: d.overdue,
      open: d.open, rate: pct(d.completion_rate) })),
    view.can_edit ? el("button", { type: "button", class: "btn ghost", onclick: () => { form.hidden = !form.hidden; } }, t("town.edit")) : null,
    form);
}

async function load() {
  town = pick().value;
  const box = clear(document.getElementById("town-grids"));
  const late = clear(document.getElementById("town-overdue"));
  if (!town) return;
  try { view = await get(`/api/towns/${encodeURIComponent(town)}/grids`); }
  catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
  if (!view.grids.length) box.append(empty(t("town.grid.none")));
  for (const g of view.grids) box.append(gridCard(g));
  if (!view.overdue.length) late.append(empty(t("town.grid.no_overdue")));
  else {
    late.append(el("table", { class: "table" },
      el("thead", {}, el("tr", {}, [t("town.grid.o.title"), t("town.grid.o.person"), t("town.grid.o.grid"), t("town.grid.o.due")]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, view.overdue.map((o) => el("tr", { "data-item": o.id },
        el("td", {}, o.title), el("td", {}, who(o.person)), el("td", {}, o.grid.name), el("td", {}, fmtShortTime(o.due_at)))))));
  }
  document.getElementById("town-grids").dataset.ready = "1";
}

(function wait() {
  if (!pick() || !pick().value) { setTimeout(wait, 100); return; }
  pick().addEventListener("change", load);
  load();
})();
