// 镇街架构 (一中心四板块一网格): a town's boards with their leader in charge, posts and holders, duty list;
// the town's administrator creates the city's boards and edits each one (issue #20).
import { api, badge, clear, el, empty, errorText, get, post, shell, t, toast } from "./core.js";

const pick = () => document.getElementById("town-pick");
let current = null;

const personText = (p) => (p ? `${p.name}（${p.code}）` : t("town.post_vacant"));

// "岗位名称，人员编码" / "事项，说明" lines → objects; a comma (，or ,) separates the two parts
function lines(text, make) {
  const out = [];
  text.split("\n").map((l) => l.trim()).forEach((line, i) => {
    if (!line) return;
    const [a, ...rest] = line.split(/[，,]/);
    if (!a.trim()) throw new Error(t("town.bad_line", { n: i + 1, line }));
    out.push(make(a.trim(), rest.join("，").trim()));
  });
  return out;
}

function editForm(b) {
  const leader = el("input", { type: "text", name: "leader_code", maxlength: 40, value: b.leader ? b.leader.code : "" });
  const posts = el("textarea", { name: "posts", rows: 4 },
    b.posts.map((p) => (p.person ? `${p.name}，${p.person.code}` : p.name)).join("\n"));
  const duties = el("textarea", { name: "duties", rows: 4 },
    b.duties.map((d) => (d.detail ? `${d.title}，${d.detail}` : d.title)).join("\n"));
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "action-form town-edit", hidden: true },
    el("label", {}, t("town.edit.leader"), leader), el("label", {}, t("town.edit.posts"), posts),
    el("label", {}, t("town.edit.duties"), duties), error,
    el("button", { type: "submit", class: "btn primary" }, t("town.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const body = {
        leader_code: leader.value.trim() || null,
        posts: lines(posts.value, (name, code) => ({ name, person_code: code || null })),
        duties: lines(duties.value, (title, detail) => ({ title, detail })),
      };
      await api("PUT", `/api/towns/${encodeURIComponent(current)}/boards/${encodeURIComponent(b.key)}`, body);
      toast(t("town.saved"));
      load();
    } catch (e) { error.textContent = errorText(e); }
  });
  return form;
}

function boardCard(b, canEdit) {
  const form = canEdit ? editForm(b) : null;
  return el("article", { class: "card town-board", "data-board": b.key },
    el("header", { class: "card-head" }, el("strong", {}, b.name), badge(t("town.open_tasks", { n: b.open_tasks }))),
    el("dl", { class: "kv" }, el("dt", {}, t("town.leader")), el("dd", {}, b.leader ? personText(b.leader) : t("common.none"))),
    el("h3", {}, t("town.posts")),
    b.posts.length ? el("ul", { class: "town-posts" }, b.posts.map((p) => el("li", { class: p.person ? "" : "vacant" },
      el("span", {}, p.name), " ", el("span", { class: "muted" }, personText(p.person))))) : empty(t("common.none")),
    el("h3", {}, t("town.duties")),
    b.duties.length ? el("ol", { class: "town-duties" }, b.duties.map((d) => el("li", {}, el("strong", {}, d.title),
      d.detail ? el("span", { class: "muted" }, ` ${d.detail}`) : null))) : empty(t("town.no_duties")),
    canEdit ? el("button", { type: "button", class: "btn ghost", onclick: () => { form.hidden = !form.hidden; } }, t("town.edit")) : null,
    form);
}

async function load() {
  if (!current) return;
  const box = clear(document.getElementById("town-boards"));
  let s;
  try { s = await get(`/api/towns/${encodeURIComponent(current)}/structure`); }
  catch (e) { box.append(el("p", { class: "error" }, errorText(e))); return; }
  document.getElementById("town-centre").textContent = `${t("town.centre")}：${s.centre.name}`;
  document.getElementById("town-create").hidden = !(s.can_edit && s.missing_boards.length);
  if (!s.boards.length) box.append(empty(t("town.no_boards")));
  for (const b of s.boards) box.append(boardCard(b, s.can_edit));
  document.body.dataset.ready = "1";
}

(async () => {
  const who = await shell();
  const towns = await get("/api/areas?level=town");
  // a town person sees his own town; the district and the city choose among theirs
  const mine = who.scopeCodes ? towns.filter((a) => who.scopeCodes.some((c) => a.code.startsWith(c) || c.startsWith(a.code))) : towns;
  const list = mine.length ? mine : towns;
  for (const a of list) pick().append(el("option", { value: a.code }, a.name));
  const q = new URLSearchParams(location.search).get("town");
  current = q && list.some((a) => a.code === q) ? q : (list[0] || {}).code;
  if (current) pick().value = current;
  pick().addEventListener("change", () => { current = pick().value; load(); });
  document.getElementById("town-create").addEventListener("click", async (ev) => {
    ev.target.disabled = true;
    try { await post(`/api/towns/${encodeURIComponent(current)}/boards`, {}); toast(t("town.created")); load(); }
    catch (e) { toast(errorText(e), "error"); }
    finally { ev.target.disabled = false; }
  });
  load();
})();
