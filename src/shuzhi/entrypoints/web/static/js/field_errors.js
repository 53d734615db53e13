// API errors shown in Chinese next to the field they name.
//
// The API answers a refusal with {detail, field, errors?} in English (it is read by other systems too);
// core.js reads that body (apiProblems) and knows the codes every page shares (error.<code>). Here the
// field named by the API ("quiet_start", "steps[1].after_minutes", "steps[0].channels[2]") finds its
// slot in the form — an element with data-error-for="<field>", or the nearest one for a shorter
// prefix — and the message gets a Chinese text: the notice pages' own rules below first, then the
// shared codes; anything not recognised reads 填写有误 (the English stays in the slot's title for
// whoever debugs it).
import { ApiError, apiProblems, codeText, el, errorText, matchRule, problemCode, t } from "./core.js";

// [pattern on the API's message, message key, (match) => variables]
const RULES = [
  [/is not a time of day/, "nu.err.not_clock"],
  [/give both ends of the quiet hours/, "nu.err.both_ends"],
  [/'([^']*)' is not one of sms, im, inapp/, "nu.err.unknown_channel", (m) => ({ value: m[1] })],
  [/'([^']*)' is not one of task_holder/, "nu.err.unknown_who", (m) => ({ value: m[1] })],
  [/name at least one of/, "nu.err.pick_one"],
  [/steps must be in time order/, "nu.err.time_order"],
  [/after_minutes must be/, "nu.err.delay_range"],
  [/at least one step/, "nu.err.no_step"],
  [/at most \d+ steps/, "nu.err.too_many_steps"],
  [/kind must be wecom or dingtalk/, "nu.err.robot_kind"],
  [/kind must be one of/, "nu.err.policy_kind"],
  [/must start with http/, "nu.err.http"],
  [/WeCom group robot's webhook/, "nu.err.wecom_key"],
  [/DingTalk robot's webhook/, "nu.err.dingtalk_token"],
  [/unknown unit/, "nu.err.unknown_unit"],
  [/changed meanwhile/, "nu.err.stale"],
  [/may only write .* for areas in his own scope/, "nu.err.scope"],
  [/already (acknowledged|exhausted|cancelled)/, "nu.err.chain_closed"],
  [/^name the /, "nu.err.required"],
  [/code must be 1/, "nu.err.required"],
];

// pydantic's error types (422 from request validation)
const TYPES = {
  missing: () => t("nu.err.required"),
  string_too_short: () => t("nu.err.required"),
  string_too_long: (e) => t("nu.err.too_long", { n: (e.message.match(/at most (\d+)/) || [])[1] || "" }),
  too_short: (e, field) => (/^steps$/.test(field) ? t("nu.err.no_step") : t("nu.err.too_short")),
  too_long: (e, field) => (/^steps$/.test(field) ? t("nu.err.too_many_steps") : t("nu.err.too_long", { n: "" })),
  int_parsing: () => t("nu.err.not_number"),
  float_parsing: () => t("nu.err.not_number"),
  bool_parsing: () => t("nu.err.invalid"),
};

// "steps[1].after_minutes" → "第 2 步 · 延迟"; "channels[0]" → "接收渠道"
export function fieldLabel(field) {
  if (!field) return "";
  const parts = [];
  for (const m of field.matchAll(/([a-z_]+)(\[(\d+)\])?/g)) {
    if (m[1] === "steps" && m[3] !== undefined) parts.push(t("nu.policies.step", { n: Number(m[3]) + 1 }));
    else parts.push(t(`nu.field.${m[1]}`));
  }
  return parts.filter((p) => !p.startsWith("nu.field.")).join(" · ");
}

export function chineseMessage(message, field, type) {
  if (type && TYPES[type]) return TYPES[type]({ message }, field);
  const found = matchRule(message, RULES);
  if (found) return t(found[0], found[1]);
  // a code every page shares (a pydantic type, a stale version …), else 填写有误
  return codeText(problemCode({ type, message }), t("nu.err.invalid"));
}

// [{field, text, raw}] for an error from api(): one per field the API named.
export function apiErrors(e) {
  if (!(e instanceof ApiError)) return [{ field: null, text: errorText(e), raw: String(e) }];
  if (e.status === 403 && !e.body.field) return [{ field: null, text: errorText(e), raw: e.message }];
  if (e.status === 404) return [{ field: e.body.field || null, text: t("nu.err.not_found"), raw: e.message }];
  return apiProblems(e).map((p) => ({ field: p.field, text: chineseMessage(p.message, p.field || "", p.type), raw: p.message }));
}

// One line for a toast or a list: the first error, its field named, in Chinese.
export function errorMessage(e) {
  const [first] = apiErrors(e);
  const label = fieldLabel(first.field);
  return label ? `${label}：${first.text}` : first.text;
}

// The slot of a field's error: the field's own, else its parent's (a.b[2] → a.b → a), else the form's.
export function slotFor(root, field) {
  let f = field;
  while (f) {
    const slot = root.querySelector(`[data-error-for="${CSS.escape(f)}"]`);
    if (slot) return slot;
    const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
    f = cut > 0 ? f.slice(0, cut) : "";
  }
  return root.querySelector("[data-error-for='']");
}

export function clearFieldErrors(root) {
  for (const slot of root.querySelectorAll("[data-error-for]")) { slot.textContent = ""; slot.removeAttribute("title"); }
  for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Put each error at its field (or in the form's general slot), name the field, focus the first.
export function showFieldErrors(root, e) {
  clearFieldErrors(root);
  let first = null;
  for (const err of apiErrors(e)) {
    const slot = slotFor(root, err.field);
    if (!slot) continue;
    const label = fieldLabel(err.field);
    slot.textContent = label ? `${label}：${err.text}` : err.text;
    slot.title = err.raw || "";
    const input = slot.dataset.input ? root.querySelector(slot.dataset.input) : null;
    if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
  }
  if (first) first.focus();
}

// The slot itself: <p class="field-error" role="alert" data-error-for="quiet_start">.
export const errorSlot = (field, inputSelector) => el("p", { class: "field-error", role: "alert", "data-error-for": field,
  "data-input": inputSelector || null });
