// Notices (通知): the event page's section (chains, every send, delivery report and acknowledgement)
// and, on every page, a browser notification when an urgent notice arrives in one's inbox.
import { badge, can, clear, el, empty, errorText, fmtTime, get, me, post, t, toast } from "./core.js";

const URGENT_KINDS = ["notice.warning.red", "notice.warning.orange", "notice.plan.activated", "notice.task.urgent"];
const POLL_MS = window.__shuzhiNoticePollMs || 20000;  // tests shorten it

function chainLine(chain, reload) {
  const state = badge(t(`notices.chain.${chain.state}`), `state-${chain.state === "open" ? "dispatched" : "closed"}`);
  const acked = chain.acked_at
    ? el("span", { class: "muted" }, ` ${t("notices.acked_by", { who: chain.acked_by, channel: t(`notices.channel.${chain.ack_channel}`), at: fmtTime(chain.acked_at) })}`)
    : el("span", { class: "muted" }, ` ${t("notices.step", { n: chain.step, of: chain.steps.length })}`);
  const button = chain.state === "open"
    ? el("button", { type: "button", class: "btn", onclick: async () => {
      try { await post(`/api/notice-chains/${chain.id}/ack`); toast(t("notices.acked")); reload(); }
      catch (err) { toast(errorText(err), "error"); }
    } }, t("notices.ack"))
    : null;
  return el("p", { class: "notice-chain" }, el("strong", {}, t(`notices.kind.${chain.kind}`)), " ", state, acked, " ", button);
}

function noticeRow(n) {
  const receipts = n.receipts.map((r) => el("li", {}, el("time", { datetime: r.at }, fmtTime(r.at)), ` ${r.detail}`));
  return el("tr", {},
    el("td", {}, fmtTime(n.created_at)),
    el("td", {}, `${n.person_name || t("notices.unit")}（${t(`notices.who.${n.who}`)}）`),
    el("td", {}, `${t(`notices.channel.${n.channel}`)} ${n.to}`),
    el("td", {}, badge(t(`notices.state.${n.state}`), `notice-${n.state}`), n.reason ? el("span", { class: "muted" }, ` ${n.reason}`) : null),
    el("td", {}, el("ol", { class: "notice-receipts" }, ...receipts)));
}

export async function renderEventNotices(number, box) {
  const reload = () => renderEventNotices(number, box);
  clear(box);
  let data;
  try { data = await get(`/api/events/${encodeURIComponent(number)}/notices`); }
  catch (err) { box.append(el("p", { class: "error" }, errorText(err))); return; }
  if (!data.chains.length && !data.notices.length) { box.append(empty(t("notices.none"))); return; }
  for (const c of data.chains) box.append(chainLine(c, reload));
  box.append(el("table", { class: "table notices" },
    el("thead", {}, el("tr", {}, ...["notices.col.at", "notices.col.to", "notices.col.channel", "notices.col.state", "notices.col.receipts"]
      .map((k) => el("th", { scope: "col" }, t(k))))),
    el("tbody", {}, ...data.notices.map(noticeRow))));
}

// --- browser notifications while a page is open --------------------------------------------------
let lastSeen = null;

function announce(item) {
  if ("Notification" in window && Notification.permission === "granted") {
    const n = new Notification(item.title, { body: item.body, tag: `shuzhi-${item.id}`, requireInteraction: true });
    n.onclick = () => { window.focus(); if (item.payload && item.payload.code) location.href = `/n/${item.payload.code}`; };
  } else {
    toast(`${item.title}：${item.body}`, "error");
  }
}

async function poll() {
  const query = URGENT_KINDS.map((k) => `kind=${encodeURIComponent(k)}`).join("&");
  try {
    const items = await get(`/api/inbox?unread=true&limit=20&${query}`);
    const newest = items.length ? items[0].id : 0;
    if (lastSeen !== null) for (const item of items.filter((i) => i.id > lastSeen).reverse()) announce(item);
    lastSeen = Math.max(lastSeen ?? 0, newest);
  } catch { /* signed out or offline: the next poll tries again */ }
}

// The header's notice links that need a permission (data-needs) show for those who have it.
async function revealLinks() {
  const links = document.querySelectorAll(".who a[data-needs]");
  if (!links.length) return;
  const who = await me();
  for (const a of links) a.hidden = !can(who, a.dataset.needs);
}

export function watchNotices() {
  revealLinks().catch(() => { /* signed out: the links stay hidden */ });
  const who = document.querySelector(".who");
  if (who && "Notification" in window && Notification.permission === "default") {
    const ask = el("button", { type: "button", class: "btn-link", id: "notices-permission" }, t("notices.enable_browser"));
    ask.addEventListener("click", async () => { await Notification.requestPermission(); ask.remove(); });
    who.prepend(ask);
  }
  poll();
  setInterval(poll, POLL_MS);
}
