// 自助评价: the applicant rates a completed case with the number and the check code on the receipt — no
// sign-in, anonymous, once (an online rating: the standard's four dimensions plus guide accuracy and
// convenience). The answer is the grade only.
import { ApiError, api, el, errorText, t } from "./core.js";

const LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"];
const DIMS = ["overall", "efficiency", "service_level", "attitude", "guide_accuracy", "convenience"];
const $ = (id) => document.getElementById(id);

$("r-dims").replaceChildren(...DIMS.map((d) => el("fieldset", { "data-dim": d }, el("legend", {}, t(`rate.dim.${d}`)),
  ...LEVELS.map((l) => el("label", {}, el("input", { type: "radio", name: `r-${d}`, value: l, required: "" }),
    ` ${t(`window.level.${l}`)} `)))));
const given = new URLSearchParams(location.search).get("number");
if (given) $("r-number").value = given.slice(0, 40);

$("r-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("r-error").textContent = "";
  const levels = {};
  for (const d of DIMS) {
    const c = document.querySelector(`input[name=r-${d}]:checked`);
    if (!c) { $("r-error").textContent = t("rate.missing", { v: t(`rate.dim.${d}`) }); return; }
    levels[d] = c.value;
  }
  const body = { number: $("r-number").value.trim(), check_code: $("r-code").value.trim().toUpperCase(),
    levels, comment: $("r-comment").value.trim(), channel: "online" };
  let data;
  try { data = await api("POST", "/api/public/services/rating", body); } catch (err) {
    const known = err instanceof ApiError && { 404: "rate.not_found", 409: "rate.conflict", 429: "rate.too_many" }[err.status];
    $("r-error").textContent = known ? t(known) : errorText(err);
    return;
  }
  $("r-form").hidden = true;
  $("r-done").replaceChildren(el("article", { class: "card", id: "r-result", "data-grade": data.grade },
    el("h2", {}, t("rate.thanks")), el("p", {}, `${t("rate.your_level")}：${data.level_label}`),
    data.grade === "bad" ? el("p", {}, t("rate.bad_followup")) : ""));
});
document.body.dataset.ready = "1";
