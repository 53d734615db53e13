// 收件箱: my unit's copies and tasks from above (已阅 and 签收 right here), work waiting from below
// (reported back, returned, extension asked), the tasks assigned to me by name (事件责任人), and my
// messages (read / unread, mark read).
import { badge, clear, deskChanged, el, empty, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";

const PAGE = 50;
let box = "down";
let lastId = null;
let seq = 0;
const list = () => document.getElementById("inbox-list");
const filter = () => document.getElementById("inbox-filter").value;
const eventLink = (number, title) => el("a", { href: `/events/${encodeURIComponent(number)}`, class: "card-title" }, title);

async function act(button, path, card, doneText) {
  button.disabled = true;
  try {
    await post(path, {});
    toast(doneText);
    card.classList.remove("unread");
    card.classList.add("read");
    card.querySelector(".unread-dot")?.remove();
    button.replaceWith(badge(doneText, "task-read"));
    deskChanged();
    counts();
  } catch (e) { toast(errorText(e), "error"); button.disabled = false; }
}

function taskCard(i) {
  const path = `/api/events/${encodeURIComponent(i.event_number)}/tasks/${i.task_id}`;
  const card = el("article", { class: `card inbox-item ${i.unread ? "unread" : "read"}`, "data-task": i.task_id,
    "data-number": i.event_number, "data-kind": i.kind },
  el("header", { class: "card-head" },
    i.unread ? el("span", { class: "unread-dot", "aria-label": t("inbox.unread") }) : null,
    badge(t(`inbox.kind.${i.kind}`), `inbox-${i.kind}`), eventLink(i.event_number, i.event_title),
    i.task_state ? badge(t(`task_state.${i.task_state}`), `task-${i.task_state}`) : null),
  el("p", { class: "muted small" }, [i.event_number,
    i.box === "up" ? t("inbox.by_unit", { unit: i.unit_name }) : t("inbox.from", { who: i.dispatched_by || t("common.none") }),
    i.box === "mine" ? i.unit_name : null,
    fmtTime(i.at)].filter(Boolean).join(" · ")));
  if (i.box === "down" && i.kind === "copy" && i.task_state === "notified") {
    const b = el("button", { type: "button", class: "btn primary ack", onclick: () => act(b, `${path}/read`, card, t("inbox.acknowledged")) }, t("inbox.acknowledge"));
    card.append(b);
  } else if ((i.box === "down" && i.kind === "task" || i.box === "mine") && i.task_state === "dispatched") {
    const b = el("button", { type: "button", class: "btn primary", onclick: () => act(b, `${path}/accept`, card, t("task_state.accepted")) }, t("tasks.accept"));
    card.append(b);
  }
  return card;
}

function messageCard(n) {
  const card = el("article", { class: `card inbox-item ${n.read_at ? "read" : "unread"}`, "data-message": n.id },
    el("header", { class: "card-head" }, n.read_at ? null : el("span", { class: "unread-dot", "aria-label": t("inbox.unread") }),
      n.payload && n.payload.number ? eventLink(n.payload.number, n.title) : el("strong", {}, n.title)),
    el("p", { class: "pre" }, n.body),
    el("p", { class: "muted small" }, fmtTime(n.created_at), n.read_at ? ` · ${t("inbox.read_by", { who: n.read_by || "" })}` : ""));
  if (!n.read_at) {
    const b = el("button", { type: "button", class: "btn ghost", onclick: async () => {
      b.disabled = true;
      try { await post("/api/inbox/read", { ids: [n.id] }); card.classList.replace("unread", "read"); card.querySelector(".unread-dot")?.remove(); b.remove(); deskChanged(); counts(); }
      catch (e) { toast(errorText(e), "error"); b.disabled = false; }
    } }, t("inbox.mark_read"));
    card.append(b);
  }
  return card;
}

async function load(more = false) {
  const mine = ++seq;
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (more && lastId) q.set(box === "messages" ? "before_id" : "before_id", String(lastId));
  const f = filter();
  if (f && box !== "up" && box !== "mine") q.set("unread", f);
  if (box !== "messages") q.set("box", box);
  let items;
  try { items = await get(box === "messages" ? `/api/inbox?${q}` : `/api/desk/inbox?${q}`); }
  catch (e) { if (mine === seq) clear(list()).append(el("p", { class: "error" }, errorText(e))); return; }
  if (mine !== seq) return;
  if (!more) clear(list());
  if (!items.length && !more) list().append(empty(t("inbox.empty")));
  for (const i of items) list().append(box === "messages" ? messageCard(i) : taskCard(i));
  lastId = items.length ? (box === "messages" ? items[items.length - 1].id : items[items.length - 1].task_id) : lastId;
  document.getElementById("inbox-more").hidden = items.length < PAGE;
  document.getElementById("inbox-read-all").hidden = box !== "messages";
  document.body.dataset.ready = "1";
}

async function counts() {
  try {
    const c = await get("/api/desk/counts");
    document.getElementById("tab-down-n").textContent = String(c.unread_copies + c.tasks_waiting);
    document.getElementById("tab-up-n").textContent = String(c.from_below);
    document.getElementById("tab-messages-n").textContent = String(c.unread_messages);
    document.getElementById("tab-mine-n").textContent = String(c.assigned_to_me);
  } catch { /* shown on the next load */ }
}

function select(which) {
  box = which;
  lastId = null;
  for (const b of document.querySelectorAll(".inbox-tabs [role=tab]")) b.setAttribute("aria-selected", String(b.dataset.box === which));
  document.getElementById("inbox-filter").disabled = which === "up" || which === "mine";
  load();
}

(async () => {
  await shell();
  const q = new URLSearchParams(location.search);
  for (const b of document.querySelectorAll(".inbox-tabs [role=tab]")) b.addEventListener("click", () => select(b.dataset.box));
  document.getElementById("inbox-filter").addEventListener("change", () => { lastId = null; load(); });
  document.getElementById("inbox-more").addEventListener("click", () => load(true));
  document.getElementById("inbox-read-all").addEventListener("click", async () => {
    try { await post("/api/inbox/read-all", {}); deskChanged(); counts(); load(); } catch (e) { toast(errorText(e), "error"); }
  });
  document.addEventListener("shuzhi:desk-changed", counts);
  counts();
  select(["down", "up", "mine", "messages"].includes(q.get("box")) ? q.get("box") : "down");
})();
