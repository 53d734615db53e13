// Validation problems of a configuration document (a plan template, a scoring scheme) put at the
// field they name, in Chinese. The API names each problem by its path in the document — a plan
// template's "$.tasks[2].deadline", a scheme's "items[0].weight" — and the form has a slot
// (data-error-for="<path>") at every field; a problem without a slot of its own goes to the nearest
// shorter path, and at last to the form's general slot (data-error-for="").
import { ApiError, el, errorText, t } from "./core.js";
import { clearFieldErrors as clearErrors, slotFor } from "./field_errors.js";

// [pattern on the API's English message, message key, (match) => variables]; the first that matches wins
const RULES = [
  [/unknown unit '([^']*)'/, "cfg.err.unknown_unit", (m) => ({ v: m[1] })],
  [/unknown event class '?([^' ]*)'?/, "cfg.err.unknown_class", (m) => ({ v: m[1] })],
  [/unknown indicator '([^']*)'/, "cfg.err.unknown_indicator", (m) => ({ v: m[1] })],
  [/unknown role/, "cfg.err.unknown_role"],
  [/no task has the key '([^']*)'/, "cfg.err.unknown_task", (m) => ({ v: m[1] })],
  [/cannot wait for itself/, "cfg.err.self_wait"],
  [/(?:cycle|circular)[^:]*:?\s*(.*→.*)/, "cfg.err.cycle", (m) => ({ v: m[1] })],
  [/key '([^']*)' is also used/, "cfg.err.duplicate_key", (m) => ({ v: m[1] })],
  [/give a time limit|time limit|not a valid time/i, "cfg.err.time_limit"],
  [/is not a warning level/, "cfg.err.level"],
  [/use 'auto'/, "cfg.err.confirmation"],
  [/use letters, digits/, "cfg.err.code"],
  [/is longer than \d+/, "cfg.err.too_long"],
  [/is required|at least 1|name at least/, "cfg.err.required"],
  [/the weights add up to ([\d.]+), not to the total ([\d.]+)/, "cfg.err.weights", (m) => ({ sum: m[1], total: m[2] })],
  [/give exactly one of zero_at or points_per_point/, "cfg.err.zero_or_ppp"],
  [/is a rate between 0 and 1/, "cfg.err.rate"],
  [/for the rework rate lower is better/, "cfg.err.rework_order"],
  [/thresholds out of order|must differ from full_mark_at/, "cfg.err.order"],
  [/unknown rate/, "cfg.err.unknown_rate"],
  [/is scored twice/, "cfg.err.twice"],
  [/unknown figure/, "cfg.err.unknown_figure"],
  [/must be positive/, "cfg.err.positive"],
  [/must be a whole number/, "cfg.err.whole"],
  [/must be ≥ 0|must be a number ≥ 0/, "cfg.err.not_negative"],
  [/must be a number/, "cfg.err.number"],
  [/is above the total/, "cfg.err.above_total"],
  [/the last band must start at 0/, "cfg.err.last_band"],
  [/give at least two bands/, "cfg.err.two_bands"],
  [/a colour is used twice/, "cfg.err.colour_twice"],
  [/black list bound/, "cfg.err.black_above_red"],
  [/give at least one item/, "cfg.err.one_item"],
  [/a plan needs at least one task/, "cfg.err.one_task"],
  [/is not used by a|unknown field|unknown key/, "cfg.err.unknown_key"],
  [/must be text|must be a list|must be an object/, "cfg.err.type"],
];
// pydantic's error types (a request the API refused before the service saw it)
const TYPES = { missing: "cfg.err.required", string_too_short: "cfg.err.required", string_too_long: "cfg.err.too_long" };

export function chinese(message, type) {
  if (type && TYPES[type]) return t(TYPES[type]);
  for (const [re, key, vars] of RULES) {
    const m = re.exec(message || "");
    if (m) return t(key, vars ? vars(m) : undefined);
  }
  return t("cfg.err.invalid");
}

// Every problem of a refusal as [{field, text, raw}], whatever shape the API gave its details:
// a list of {path|field, message} (plan templates, request validation) or {errors: {path: message}}.
export function problems(e, prefix = "") {
  if (!(e instanceof ApiError) || e.status !== 422) return [{ field: "", text: errorText(e), raw: String(e && e.message) }];
  const b = e.body || {};
  let list = [];
  if (Array.isArray(b.details)) list = b.details.map((d) => ({ field: d.path ?? d.field, message: d.message }));
  else if (b.details && b.details.errors) list = Object.entries(b.details.errors).map(([field, message]) => ({ field: prefix + field, message }));
  else if (Array.isArray(b.errors)) list = b.errors.map((d) => ({ field: d.field, message: d.message, type: d.type }));
  if (!list.length) list = [{ field: b.field || "", message: b.detail || e.message }];
  return list.map((p) => ({ field: p.field || "", text: chinese(p.message, p.type), raw: p.message }));
}

export { clearErrors };

// Each problem at its field (several at one field are joined), the first field focused.
export function showErrors(root, list) {
  clearErrors(root);
  let first = null;
  for (const p of list) {
    const slot = slotFor(root, p.field);
    if (!slot) continue;
    slot.textContent = slot.textContent ? `${slot.textContent}；${p.text}` : p.text;
    slot.title = [slot.title, p.raw].filter(Boolean).join("\n");
    const input = slot.previousElementSibling && slot.previousElementSibling.matches("input, select, textarea")
      ? slot.previousElementSibling : slot.parentElement && slot.parentElement.querySelector("input, select, textarea");
    if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
  }
  if (first) first.focus();
}

export const slot = (field) => el("span", { class: "field-error cfg-error", role: "alert", "data-error-for": field });

// A labelled input with its error slot right after it.
export function field(label, name, path, { value = "", type = "text", options = null, attrs = {} } = {}) {
  const input = options
    ? el("select", { name, ...attrs }, options.map(([v, text]) => el("option", { value: v, selected: String(value) === String(v) }, text)))
    : type === "textarea" ? el("textarea", { name, rows: 2, ...attrs }, value)
      : el("input", { name, type, value: value ?? "", ...attrs });
  return el("label", { class: "cfg-field" }, el("span", { class: "cfg-label" }, label), input, slot(path));
}
