// The ledgers page (台账): browse a ledger filtered (five colours, unit, leader, text, a custom column),
// open an item (report progress, upload evidence, assign down, close off), import a spreadsheet with a
// mapping step and a preview, and publish the period's bulletin (晒账). Text from the API goes in as text.
import { api, badge, clear, el, empty, errorText, fmtTime, get, post, shell, t, toast, todayYmd } from "./core.js";
import { actionForm } from "./forms.js";

const PAGE = 50;
const form = document.getElementById("l-filter");
const body = document.getElementById("ledger-body");
const ledgerSelect = document.getElementById("l-ledger");
let ledgers = [];
let current = null;
let offset = 0;
let importState = null;

const colourBadge = (c) => badge(c ? t(`ledgers.colour.${c}`) : "—", `ledger-colour colour-${c || "none"}`);
const stateText = (s) => t(`ledgers.state.${s}`);
// a timeline action in Chinese from the catalogue; an action the catalogue lacks shows its code
const actionText = (a) => { const key = `ledgers.tl.${a}`; const s = t(key); return s === key ? a : s; };
const enc = encodeURIComponent;

function query() {
  const fd = new FormData(form);
  const q = new URLSearchParams({ view: fd.get("view") || "active", limit: PAGE, offset });
  for (const k of ["colour", "unit", "leader", "q"]) {
    const v = String(fd.get(k) || "").trim();
    if (v) q.set(k, v);
  }
  const field = String(fd.get("field") || ""), value = String(fd.get("field_value") || "").trim();
  if (field && value) q.append("field", `${field}:${value}`);
  return q;
}

async function loadLedgers() {
  ledgers = await get("/api/ledgers");
  clear(ledgerSelect);
  for (const l of ledgers) {
    ledgerSelect.append(el("option", { value: l.code }, `${l.name}（${t(`ledgers.kind.${l.kind}`)} · ${l.active_items}）`));
  }
  const wanted = new URLSearchParams(location.search).get("ledger");
  if (wanted && ledgers.some((l) => l.code === wanted)) ledgerSelect.value = wanted;
  await chooseLedger();
}

async function chooseLedger() {
  current = ledgers.find((l) => l.code === ledgerSelect.value) || null;
  document.getElementById("l-import").hidden = !current || !current.manages;
  // published bulletins are read by every unit they went to; previewing and publishing need the whole ledger
  document.getElementById("l-bulletin").hidden = !current;
  document.getElementById("l-bulletin-form").hidden = !current || !current.whole;
  clear(document.getElementById("l-bulletin-body"));
  if (!current) { clear(body); body.append(el("tr", {}, el("td", { colspan: 8 }, empty(t("ledgers.none"))))); return; }
  document.getElementById("l-export").href = `/api/ledgers/${enc(current.code)}/export`;
  const field = document.getElementById("l-field");
  clear(field).append(el("option", { value: "" }, ""), current.columns.map((c) => el("option", { value: c.key }, c.label)));
  const leader = document.getElementById("l-leader");
  clear(leader).append(el("option", { value: "" }, t("ledgers.colour.any")));
  for (const name of await get(`/api/ledgers/${enc(current.code)}/leaders`)) leader.append(el("option", { value: name }, name));
  offset = 0;
  await search(false);
  await loadBulletins();
}

function progressBar(p) {
  return el("span", { class: "ledger-progress", title: `${p}%` }, el("span", { class: "bar", style: `width:${p}%` }), ` ${p}%`);
}

async function search(append) {
  const page = await get(`/api/ledgers/${enc(current.code)}/items?${query()}`);
  if (!append) clear(body);
  document.getElementById("l-total").textContent = t("ledgers.total", { n: page.total });
  const colours = clear(document.getElementById("l-colours"));
  for (const [c, n] of Object.entries(page.colours)) colours.append(colourBadge(c), ` ${n}  `);
  if (!page.items.length && !append) body.append(el("tr", {}, el("td", { colspan: 8 }, empty())));
  for (const it of page.items) {
    const row = el("tr", { class: "ledger-row", dataset: { id: it.id }, tabindex: 0 },
      el("td", {}, colourBadge(it.colour)), el("td", {}, it.number),
      el("td", {}, it.depth ? `${"　".repeat(it.depth)}└ ${it.title}` : it.title),
      el("td", {}, it.lead_unit_name), el("td", {}, it.leader || ""), el("td", {}, it.time_limit || ""),
      el("td", {}, progressBar(it.progress)), el("td", {}, stateText(it.state)));
    row.addEventListener("click", () => openItem(it.id));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") openItem(it.id); });
    body.append(row);
  }
  offset += page.items.length;
  document.getElementById("l-more").hidden = offset >= page.total;
}

function fieldRow(label, value) {
  return value === null || value === undefined || value === "" ? null : el("div", { class: "kv" }, el("dt", {}, label), el("dd", {}, String(value)));
}

async function openItem(id) {
  const [item, timeline, children, files, links] = await Promise.all([
    get(`/api/ledger-items/${id}`), get(`/api/ledger-items/${id}/timeline`), get(`/api/ledger-items/${id}/children`),
    get(`/api/ledger-items/${id}/attachments`), get(`/api/ledger-items/${id}/links`)]);
  const panel = document.getElementById("l-detail");
  panel.hidden = false;
  const box = clear(document.getElementById("l-detail-body"));
  const cols = Object.fromEntries((current.columns || []).map((c) => [c.key, c.label]));
  box.append(el("h3", { id: "l-item-title" }, `${item.number} ${item.title}`), el("p", {}, colourBadge(item.colour), " ",
    stateText(item.state), item.reopen_count ? ` · ${t("ledgers.reopened", { n: item.reopen_count })}` : ""),
  el("dl", { class: "kv-list" },
    fieldRow(t("ledgers.lead_unit"), item.lead_unit_name), fieldRow(t("ledgers.assist_units"), item.assist_units.map((u) => u.name).join("、")),
    fieldRow(t("ledgers.leader"), item.leader), fieldRow(t("ledgers.person"), item.person),
    fieldRow(t("ledgers.time_limit"), item.time_limit), fieldRow(t("ledgers.progress"), `${item.progress}%`),
    fieldRow(t("ledgers.source"), item.source ? t(`ledgers.source.${item.source}`) : null), fieldRow(t("ledgers.finding"), item.finding),
    fieldRow(t("ledgers.proposer"), item.proposer), fieldRow(t("ledgers.reply_due"), item.reply_due),
    fieldRow(t("ledgers.satisfaction"), item.satisfaction ? t(`ledgers.satisfaction.${item.satisfaction}`) : null),
    Object.entries(item.fields).map(([k, v]) => fieldRow(cols[k] || k, v === true ? "是" : v === false ? "否" : v))));
  if (item.milestones.length) {
    box.append(el("h4", {}, t("ledgers.milestones")), el("ol", { class: "milestones" }, item.milestones.map((m) =>
      el("li", {}, m.title, m.due ? `（${m.due}）` : "", m.done_on ? ` ✓ ${t("ledgers.milestone_done")} ${m.done_on}` : ""))));
  }
  box.append(el("div", { class: "actions" }, actionsFor(item)));
  if (files.length) {
    box.append(el("h4", {}, t("ledgers.attachments")), el("ul", {}, files.map((f) =>
      el("li", {}, el("a", { href: `/api/ledger-attachments/${f.id}`, target: "_blank", rel: "noopener" }, f.filename), ` · ${f.uploaded_by}`))));
  }
  if (children.length) {
    box.append(el("h4", {}, t("ledgers.children")), el("ul", { class: "children" }, children.map((c) =>
      el("li", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); openItem(c.id); } }, `${c.number} ${c.title}`),
        ` · ${c.lead_unit_name} · ${c.progress}% · ${stateText(c.state)}`))));
  }
  if (links.length) {
    box.append(el("h4", {}, t("ledgers.from_events.events")), el("ul", { class: "event-links" }, links.map((x) =>
      el("li", {}, el("a", { href: `/events/${enc(x.event_number)}` }, x.event_number), ` ${x.event_title} · ${t(`state.${x.event_state}`)}`))));
  }
  box.append(el("h4", {}, t("ledgers.timeline")), el("ol", { class: "timeline" }, timeline.map((e) =>
    el("li", {}, `${fmtTime(e.at)} ${e.actor} ${actionText(e.action)}`, e.reason ? `：${e.reason}` : ""))));
  panel.scrollIntoView({ block: "start" });
}

function actionsFor(item) {
  const done = async () => { await openItem(item.id); offset = 0; await search(false); };
  const out = [];
  const can = new Set(item.actions);
  if (can.has("report")) {
    out.push(actionForm(t("ledgers.report"), [
      { name: "narrative", label: t("ledgers.narrative"), type: "textarea", required: true },
      { name: "progress", label: t("ledgers.percent") },
      ...item.milestones.map((m, i) => (m.done_on ? null : { name: `m${i}`, label: m.title, type: "checkbox" })).filter(Boolean),
    ], async (f) => {
      const milestones = item.milestones.map((m, i) => (f.elements[`m${i}`] && f.elements[`m${i}`].checked ? i : null)).filter((i) => i !== null);
      const pct = String(f.elements.progress.value).trim();
      await post(`/api/ledger-items/${item.id}/reports`, { narrative: f.elements.narrative.value, progress: pct ? Number(pct) : null,
        milestones_done: milestones, expected_version: item.version });
      toast(t("ledgers.reported"));
      await done();
    }, { cls: "primary" }));
  }
  if (can.has("report") || can.has("submit")) {
    for (const p of item.kind === "suggestion" ? ["reply", "evidence"] : ["evidence"]) out.push(uploadForm(item, p, done));
  }
  for (const a of ["start", "submit", "sign_off", "reject", "reopen", "suspend", "resume", "cancel"]) {
    if (!can.has(a)) continue;
    const fields = [{ name: "reason", label: t("ledgers.reason"), type: "textarea", required: ["reject", "reopen", "suspend", "cancel"].includes(a) }];
    if (a === "sign_off" && item.kind === "suggestion") {
      fields.push({ name: "satisfaction", label: t("ledgers.satisfaction"), type: "select", options: ["satisfied", "basically", "dissatisfied"].map((s) => [s, t(`ledgers.satisfaction.${s}`)]) });
    }
    out.push(actionForm(t(`ledgers.action.${a}`), fields, async (f) => {
      const bodyOut = { action: a, reason: f.elements.reason.value || null, expected_version: item.version };
      if (f.elements.satisfaction) bodyOut.satisfaction = f.elements.satisfaction.value;
      await post(`/api/ledger-items/${item.id}/actions`, bodyOut);
      toast(t("ledgers.action_done", { a: t(`ledgers.action.${a}`) }));
      await done();
    }, { cls: a === "sign_off" ? "primary" : "" }));
  }
  if (can.has("report") || current.manages) {
    out.push(actionForm(t("ledgers.assign_down"), [
      { name: "title", label: t("ledgers.task"), required: true }, { name: "lead_unit", label: t("ledgers.unit"), required: true },
      { name: "time_limit", label: t("ledgers.time_limit") }], async (f) => {
      await post(`/api/ledgers/${enc(current.code)}/items`, { title: f.elements.title.value, lead_unit: f.elements.lead_unit.value.trim(),
        time_limit: f.elements.time_limit.value || null, parent_id: item.id });
      toast(t("ledgers.assigned"));
      await done();
    }));
  }
  return out;
}

// An upload of evidence (佐证材料) or a reply document (答复件): one file, its purpose, then reload.
function uploadForm(item, purpose, done) {
  const label = t(purpose === "reply" ? "ledgers.reply_doc" : "ledgers.evidence");
  const input = el("input", { type: "file", name: "upload", accept: ".pdf,.jpg,.jpeg,.png,.webp,.docx,.xlsx", "aria-label": t("ledgers.import_file"),
    dataset: { purpose } });
  const error = el("p", { class: "error", role: "alert" });
  const formEl = el("form", { class: "action-form" }, input, error, el("button", { class: "btn primary", type: "submit" }, label));
  formEl.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!input.files.length) return;
    const fd = new FormData();
    fd.append("file", input.files[0]);
    fd.append("purpose", purpose);
    try {
      await api("POST", `/api/ledger-items/${item.id}/attachments`, undefined, { form: fd });
      toast(t("ledgers.uploaded"));
      await done();
    } catch (err) { error.textContent = errorText(err); }
  });
  return el("details", { class: "action" }, el("summary", { class: "btn" }, label), formEl);
}

// --- import: preview with a mapping step, then commit -------------------------------------------
function importForm() {
  const fd = new FormData();
  fd.append("file", document.getElementById("l-import-file").files[0]);
  if (importState) {
    fd.append("mapping", JSON.stringify(importState.mapping));
    fd.append("unit_aliases", JSON.stringify(importState.aliases));
  }
  return fd;
}

function renderPreview(p) {
  const box = clear(document.getElementById("l-import-result"));
  importState = { mapping: { ...p.mapping }, aliases: importState ? importState.aliases : {} };
  const mapTable = el("table", { class: "grid-table", id: "l-mapping" }, el("caption", {}, t("ledgers.import_mapping")),
    el("thead", {}, el("tr", {}, el("th", {}, t("ledgers.import_column")), el("th", {}, t("ledgers.import_target")))),
    el("tbody", {}, p.headers.map((h) => {
      const sel = el("select", { "aria-label": h, dataset: { header: h } }, el("option", { value: "" }, t("ledgers.import_ignore")),
        Object.entries(p.targets).map(([k, label]) => el("option", { value: k, selected: p.mapping[h] === k }, label)));
      sel.addEventListener("change", () => { importState.mapping[h] = sel.value; });
      return el("tr", {}, el("th", { scope: "row" }, h), el("td", {}, sel));
    })));
  box.append(mapTable);
  if (p.units.length) {
    box.append(el("h4", {}, t("ledgers.import_units")), el("ul", { id: "l-unit-misses" }, p.units.map((u) => {
      const sel = el("select", { "aria-label": u.text, dataset: { text: u.text } }, el("option", { value: "" }, t("ledgers.import_unit_pick")),
        u.suggestions.map((s) => el("option", { value: s.code }, s.name)));
      sel.addEventListener("change", () => { if (sel.value) importState.aliases[u.text] = sel.value; else delete importState.aliases[u.text]; });
      return el("li", {}, `“${u.text}”（${u.rows.map((r) => t("ledgers.import_row", { row: r })).join("、")}）→ `, sel);
    })));
  }
  box.append(el("p", { id: "l-import-summary" }, t("ledgers.import_ok", { valid: p.valid, rows: p.rows })));
  if (p.errors.length) {
    box.append(el("h4", { class: "error" }, t("ledgers.import_errors", { n: p.errors.length })),
      el("ul", { class: "import-errors", id: "l-import-errors" }, p.errors.map((e) => el("li", {}, `${t("ledgers.import_row", { row: e.row })}「${e.column}」：${e.message}`))));
  }
  box.append(el("table", { class: "grid-table" }, el("thead", {}, el("tr", {}, [t("ledgers.import_row", { row: "" }), t("ledgers.number"), t("ledgers.task"), t("ledgers.lead_unit"), t("ledgers.time_limit")].map((h) => el("th", {}, h)))),
    el("tbody", {}, p.preview.map((r) => el("tr", {}, el("td", {}, r.row), el("td", {}, r.number), el("td", {}, r.title), el("td", {}, r.lead_unit || ""), el("td", {}, r.time_limit || ""))))));
  document.getElementById("l-import-commit").disabled = p.errors.length > 0 || p.valid === 0;
}

async function previewImport(ev) {
  ev.preventDefault();
  if (!document.getElementById("l-import-file").files.length) return;
  try { renderPreview(await api("POST", `/api/ledgers/${enc(current.code)}/import/preview`, undefined, { form: importForm() })); }
  catch (e) { clear(document.getElementById("l-import-result")).append(el("p", { class: "error", role: "alert" }, errorText(e))); }
}

async function commitImport() {
  try {
    const r = await api("POST", `/api/ledgers/${enc(current.code)}/import`, undefined, { form: importForm() });
    toast(t("ledgers.imported", { n: r.created, s: r.sub_items }));
    clear(document.getElementById("l-import-result")).append(el("p", { role: "status", id: "l-import-done" }, t("ledgers.imported", { n: r.created, s: r.sub_items })));
    importState = null;
    document.getElementById("l-import-commit").disabled = true;
    await loadLedgers();
  } catch (e) { toast(errorText(e), "error"); }
}

// --- bulletin ---------------------------------------------------------------------------------------
function pct(v) { return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`; }

function renderBulletin(b) {
  const box = clear(document.getElementById("l-bulletin-body"));
  const c = b.content;
  box.append(el("h3", {}, b.title), el("p", {}, Object.entries(c.colours).map(([k, n]) => [colourBadge(k), ` ${n} `])));
  box.append(el("table", { class: "grid-table", id: "l-ranking" }, el("thead", {}, el("tr", {}, [t("ledgers.rank"), t("ledgers.lead_unit"), t("ledgers.score"), t("ledgers.score_change"), t("ledgers.report_rate"), t("ledgers.completion_rate"), t("ledgers.overdue"), t("ledgers.stalled"), t("ledgers.reopened_n"), t("ledgers.vs_previous")].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, c.ranking.map((r) => el("tr", {}, el("td", {}, r.place), el("td", {}, r.name), el("td", {}, r.score),
      el("td", {}, r.previous_score === null || r.previous_score === undefined ? "—" : (r.score - r.previous_score >= 0 ? "+" : "") + (r.score - r.previous_score).toFixed(2)),
      el("td", {}, pct(r.report_rate)),
      el("td", {}, pct(r.completion_rate)), el("td", {}, r.overdue), el("td", {}, r.stalled), el("td", {}, r.reopened),
      el("td", {}, r.previous_place === null ? t("ledgers.new_entry") : String(r.previous_place - r.place)))))));
  if (c.overdue.length) box.append(el("h4", {}, t("ledgers.overdue_items")), el("ul", {}, c.overdue.map((x) => el("li", {}, `${x.number} ${x.title} · ${x.unit} · ${x.time_limit}`))));
  if (c.stalled.length) box.append(el("h4", {}, t("ledgers.stalled_items")), el("ul", {}, c.stalled.map((x) => el("li", {}, `${x.number} ${x.title} · ${x.unit}`))));
}

function bulletinParams() {
  return { period_kind: document.getElementById("l-bulletin-kind").value, day: document.getElementById("l-bulletin-day").value || null };
}

async function loadBulletins() {
  const list = clear(document.getElementById("l-bulletins"));
  for (const b of await get(`/api/ledgers/${enc(current.code)}/bulletins`)) {
    const base = `/api/ledgers/${enc(current.code)}/bulletins/${b.id}`;
    list.append(el("li", {}, `${b.title} · ${fmtTime(b.published_at)} · ${b.published_by} · ${t("ledgers.bulletin_download")}：`,
      ["html", "xlsx", "docx"].map((f) => [el("a", { href: `${base}?format=${f}`, target: f === "html" ? "_blank" : null, rel: "noopener" }, f.toUpperCase()), " "])));
  }
}

async function main() {
  await shell();
  document.getElementById("l-bulletin-day").value = todayYmd();
  ledgerSelect.addEventListener("change", chooseLedger);
  form.addEventListener("submit", async (e) => { e.preventDefault(); offset = 0; await search(false); });
  document.getElementById("l-more").addEventListener("click", () => search(true));
  document.getElementById("l-import-form").addEventListener("submit", previewImport);
  document.getElementById("l-import-file").addEventListener("change", () => { importState = null; });
  document.getElementById("l-import-commit").addEventListener("click", commitImport);
  document.getElementById("l-bulletin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = bulletinParams();
    const q = new URLSearchParams({ period_kind: p.period_kind });
    if (p.day) q.set("day", p.day);
    try { renderBulletin(await get(`/api/ledgers/${enc(current.code)}/bulletin?${q}`)); } catch (err) { toast(errorText(err), "error"); }
  });
  document.getElementById("l-bulletin-publish").addEventListener("click", async () => {
    try {
      const b = await post(`/api/ledgers/${enc(current.code)}/bulletins`, bulletinParams());
      renderBulletin(b);
      toast(t("ledgers.bulletin_published", { title: b.title }));
      await loadBulletins();
    } catch (err) { toast(errorText(err), "error"); }
  });
  await loadLedgers();
  const params = new URLSearchParams(location.search);
  if (params.get("from_events")) fromEvents(params);
  if (params.get("item")) await openItem(Number(params.get("item")));
}

// A pattern of events (分析研判's hot spot) made one problem to rectify, linked to every event, in one
// action: the events come in the address, the runner fills in the "四合一" and picks the ledger above.
function fromEvents(params) {
  const numbers = params.get("from_events").split(",").map((n) => n.trim()).filter(Boolean);
  const panel = document.getElementById("l-from-events");
  panel.hidden = false;
  const box = clear(document.getElementById("l-from-events-body"));
  box.append(el("p", { class: "muted" }, t("ledgers.from_events.hint")),
    el("p", {}, `${t("ledgers.from_events.events")}：`, numbers.map((n) => [el("a", { href: `/events/${enc(n)}` }, n), " "])));
  box.append(actionForm(t("ledgers.from_events"), [
    { name: "title", label: t("ledgers.task"), required: true, value: params.get("title") || "" },
    { name: "lead_unit", label: t("ledgers.unit"), required: true },
    { name: "leader", label: t("ledgers.leader") },
    { name: "time_limit", label: t("ledgers.time_limit") },
    { name: "finding", label: t("ledgers.finding"), type: "textarea" }], async (f) => {
    const made = await post(`/api/ledgers/${enc(current.code)}/items/from-events`, {
      title: f.elements.title.value, lead_unit: f.elements.lead_unit.value.trim(), leader: f.elements.leader.value || null,
      time_limit: f.elements.time_limit.value || null, finding: f.elements.finding.value || null, event_numbers: numbers });
    clear(box).append(el("p", { role: "status", id: "l-from-events-done" }, `${t("ledgers.from_events.done")}${made.number} ${made.title}`));
    offset = 0;
    await search(false);
    await openItem(made.id);
  }, { open: true, cls: "primary" }));
}

main().catch((e) => toast(errorText(e), "error"));
