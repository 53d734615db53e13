// A person's notices as a table: what, to which address on which channel, the delivery state, every
// receipt (hand-over, delivery report, retry, reply, acknowledgement) and — for one's own — the
// button that acknowledges a chain still climbing. Used by 我的通知 and the administrator's per-person view.
import { badge, clear, el, empty, fmtTime, get, post, t, toast } from "./core.js";
import { errorMessage } from "./field_errors.js";

const PAGE = 50;

function receiptList(n) {
  return el("ol", { class: "notice-receipts" }, n.receipts.map((r) => el("li", {},
    el("time", { datetime: r.at }, fmtTime(r.at)), " ",
    el("span", { class: "nu-receipt-kind" }, t(`nu.receipt.${r.kind}`)),
    r.channel ? ` · ${t(`notices.channel.${r.channel}`)}` : "",
    r.detail ? el("span", { class: "muted" }, ` ${r.detail}`) : null)));
}

function chainCell(n, { canAck, reload, ackedChains }) {
  if (!n.chain_id) return t("common.none");
  const state = n.chain_state || "open";
  const cell = [badge(t(`notices.chain.${state}`), `state-${state === "open" ? "dispatched" : "closed"}`)];
  if (canAck && state === "open" && !ackedChains.has(n.chain_id)) {
    ackedChains.add(n.chain_id);  // one button per chain, on its newest notice
    cell.push(" ", el("button", { type: "button", class: "btn small primary", "data-chain": n.chain_id, onclick: async (ev) => {
      ev.target.disabled = true;
      try { await post(`/api/notice-chains/${n.chain_id}/ack`); toast(t("notices.acked")); reload(); }
      catch (err) { toast(errorMessage(err), "error"); ev.target.disabled = false; }
    } }, t("notices.ack")));
  }
  return cell;
}

function row(n, opts) {
  return el("tr", { "data-notice": n.id },
    el("td", {}, el("time", { datetime: n.created_at }, fmtTime(n.created_at))),
    el("td", {}, el("strong", {}, t(`nu.kind.${n.kind}`)), n.number ? ` ${n.number}` : "",
      el("div", { class: "muted nu-body" }, n.body)),
    el("td", {}, t(`notices.channel.${n.channel}`), " ", el("span", { class: "mono" }, n.to),
      el("div", { class: "muted" }, t(`notices.who.${n.who}`))),
    el("td", {}, badge(t(`notices.state.${n.state}`), `notice-${n.state}`),
      n.reason ? el("div", { class: "muted" }, n.reason) : null),
    el("td", {}, receiptList(n)),
    el("td", {}, chainCell(n, opts)));
}

// Render ``path``'s notices (newest first) into ``box``; ``canAck`` shows the acknowledge buttons.
export async function renderNotices(box, path, { canAck = false } = {}) {
  const reload = () => renderNotices(box, path, { canAck });
  clear(box);
  const body = el("tbody", {});
  const opts = { canAck, reload, ackedChains: new Set() };
  const more = el("button", { type: "button", class: "btn ghost", hidden: true }, t("nu.received.more"));
  let oldest = null;
  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (oldest !== null) q.set("before_id", String(oldest));
    const list = await get(`${path}?${q}`);
    list.forEach((n) => body.append(row(n, opts)));
    if (list.length) oldest = list[list.length - 1].id;
    more.hidden = list.length < PAGE;
    return list.length;
  };
  more.addEventListener("click", async () => { try { await load(); } catch (e) { toast(errorMessage(e), "error"); } });
  let n;
  try { n = await load(); } catch (e) { box.append(el("p", { class: "error", role: "alert" }, errorMessage(e))); return; }
  if (!n) { box.append(empty(t("nu.received.none"))); return; }
  box.append(el("div", { class: "table-wrap" }, el("table", { class: "grid-table notices nu-notices" },
    el("thead", {}, el("tr", {}, ["notices.col.at", "nu.col.about", "notices.col.channel", "notices.col.state",
      "notices.col.receipts", "nu.col.chain"].map((k) => el("th", { scope: "col" }, t(k))))),
    body)), more);
}
