// The desk's suggestions while a report is typed: top-3 classes and units with confidence and the words
// behind them, likely duplicates (one-click merge) and repeats. Reusable by any registration page:
//
//   import { attachSuggest } from "./suggest.js";
//   attachSuggest({ text, lon, lat, phone, box, onPickClass(code), onMerge(number), onRepeat(number) });
//
// `text`, `lon`, `lat`, `phone` are inputs (lon/lat/phone optional); `box` is where the panel is drawn.
// It asks POST /api/events/suggest after the operator pauses typing (400 ms), never more than one
// request at a time (an older answer is dropped when a newer question was asked).
import { ApiError, api, clear, el, errorText, fmtTime, stateLabel, t } from "./core.js";

const PAUSE_MS = 400;

const pct = (x) => `${Math.round(x * 100)}%`;

function bar(score) {
  return el("span", { class: "suggest-bar", "aria-hidden": "true" },
    el("span", { style: `width:${Math.max(4, Math.round(score * 100))}%` }));
}

function classRow(c, onPickClass) {
  return el("li", { class: "suggest-item" },
    el("button", { type: "button", class: "btn small", onclick: () => onPickClass && onPickClass(c.code, c.name),
      title: t("hotline.pick_class") }, `${c.name}（${c.code}）`),
    bar(c.score), el("span", { class: "suggest-score" }, pct(c.score)),
    c.words.length ? el("span", { class: "suggest-words" }, t("hotline.because"), c.words.map((w) => el("mark", {}, w))) : null);
}

function unitRow(u) {
  return el("li", { class: "suggest-item" }, el("span", {}, u.name), bar(u.score),
    el("span", { class: "suggest-score" }, pct(u.score)),
    el("span", { class: "muted small" }, t(u.via === "rules" ? "hotline.via_rules" : "hotline.via_history")));
}

function duplicateRow(d, onMerge) {
  const facts = [t("hotline.similarity", { s: pct(d.score) })];
  if (d.distance_m !== null) facts.push(t("hotline.distance", { m: Math.round(d.distance_m) }));
  facts.push(t("hotline.age", { h: d.age_hours }));
  return el("li", { class: "suggest-item duplicate" },
    el("a", { href: `/events/${encodeURIComponent(d.number)}`, target: "_blank", rel: "noopener" }, d.number),
    el("span", { class: "title-cell" }, d.title), el("span", { class: "muted small" }, stateLabel(d.state)),
    el("span", { class: "muted small" }, facts.join(" · ")),
    onMerge ? el("button", { type: "button", class: "btn small primary", onclick: () => onMerge(d.number) },
      t("hotline.merge")) : null);
}

function repeatRow(r, onRepeat) {
  return el("li", { class: "suggest-item" },
    el("a", { href: `/events/${encodeURIComponent(r.number)}`, target: "_blank", rel: "noopener" }, r.number),
    el("span", { class: "title-cell" }, r.title),
    el("span", { class: "muted small" }, `${t("hotline.closed_at")} ${fmtTime(r.closed_at)} · `
      + r.reasons.map((x) => t(`hotline.reason.${x}`)).join("、")),
    onRepeat ? el("button", { type: "button", class: "btn small", onclick: () => onRepeat(r.number) },
      t("hotline.link_repeat")) : null);
}

function section(title, items) {
  return el("section", { class: "suggest-section" }, el("h3", {}, title), el("ol", { class: "suggest-list" }, items));
}

export function render(box, s, { onPickClass, onMerge, onRepeat } = {}) {
  clear(box);
  box.append(el("p", { class: "muted small" }, t("hotline.model_version", { v: s.model_version })));
  box.append(section(t("hotline.classes"), s.classes.map((c) => classRow(c, onPickClass))));
  if (s.units.length) box.append(section(t("hotline.units"), s.units.map(unitRow)));
  box.append(s.duplicates.length
    ? section(t("hotline.duplicates"), s.duplicates.map((d) => duplicateRow(d, onMerge)))
    : el("p", { class: "muted small" }, t("hotline.no_duplicates")));
  if (s.repeats.length) box.append(section(t("hotline.repeats"), s.repeats.map((r) => repeatRow(r, onRepeat))));
}

export function attachSuggest({ text, lon, lat, phone, box, onPickClass, onMerge, onRepeat }) {
  let timer = null;
  let asked = 0;
  let controller = null;

  async function ask() {
    const words = text.value.trim();
    if (words.length < 2) { clear(box); return; }
    const body = { text: words };
    if (lon && lat && lon.value && lat.value) { body.lon = Number(lon.value); body.lat = Number(lat.value); }
    if (phone && phone.value.trim()) body.reporter_phone = phone.value.trim();
    const mine = ++asked;
    if (controller) controller.abort();
    controller = new AbortController();
    box.setAttribute("aria-busy", "true");
    try {
      const s = await api("POST", "/api/events/suggest", body, { signal: controller.signal });
      if (mine === asked) render(box, s, { onPickClass, onMerge, onRepeat });
    } catch (e) {
      if (e && e.name === "AbortError") return;
      if (mine !== asked) return;
      clear(box).append(el("p", { class: "muted small", role: "status" },
        e instanceof ApiError && e.status === 409 ? t("hotline.no_model") : errorText(e)));
    } finally {
      if (mine === asked) box.removeAttribute("aria-busy");
    }
  }

  const later = () => { clearTimeout(timer); timer = setTimeout(ask, PAUSE_MS); };
  for (const input of [text, lon, lat, phone]) if (input) input.addEventListener("input", later);
  return { refresh: ask };
}
