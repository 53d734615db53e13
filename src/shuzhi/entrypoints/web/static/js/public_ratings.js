// 政务服务好差评公开: each matter's ratings, no personal data; no sign-in.
import { el, t } from "./core.js";

async function load(q) {
  const r = await fetch(`/api/public/services/ratings?limit=200&q=${encodeURIComponent(q)}`);
  const rows = r.ok ? await r.json() : [];
  const body = document.querySelector("#p-table tbody");
  body.replaceChildren(...rows.map((x) => el("tr", {},
    el("td", {}, x.name), el("td", {}, x.department), el("td", {}, String(x.ratings)),
    el("td", {}, x.good_rate == null ? t("common.none") : `${(x.good_rate * 100).toFixed(1)}%`),
    el("td", {}, x.average == null ? t("common.none") : x.average.toFixed(2)))));
  document.body.dataset.ready = "1";
}

const box = document.getElementById("p-q");
let timer;
box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load(box.value.trim()), 250); });
load("");
