// A minimal registration form for the events page, with the desk's suggestions (suggest.js): classes
// and units to pick, likely duplicates to merge into with one click, repeats to link.
import { can, el, errorText, get, me, post, t, toast } from "./core.js";
import { attachSuggest } from "./suggest.js";

const SOURCES = ["hotline", "citizen_platform", "online_app", "grid_patrol", "duty_officer", "legacy_system",
  "upper_centre"];

function readForm() {
  const text = document.getElementById("r-text").value.trim();
  if (!text) throw new Error(t("hotline.text_required"));
  const body = { source: document.getElementById("r-source").value, description: text,
    title: document.getElementById("r-title").value.trim() || text.slice(0, 20) };
  const cls = document.getElementById("r-class").value;
  if (cls) body.event_class_code = cls;
  const address = document.getElementById("r-address").value.trim();
  if (address) body.address = address;
  for (const k of ["lon", "lat"]) {
    const v = document.getElementById(`r-${k}`).value.trim();
    if (v) {
      if (!Number.isFinite(Number(v))) throw new Error(`${t(`hotline.${k}`)}：${t("hotline.bad_number")}`);
      body[k] = Number(v);
    }
  }
  const phone = document.getElementById("r-phone").value.trim();
  if (phone) body.reporter_phone = phone;
  return body;
}

async function register() {
  const created = await post("/api/events", readForm());
  return created.number;
}

export async function installRegister(onRegistered) {
  const who = await me();
  if (!can(who, "event.submit")) return;
  document.getElementById("register-panel").hidden = false;
  const sourceSel = document.getElementById("r-source");
  SOURCES.forEach((s) => sourceSel.append(el("option", { value: s }, t(`source.${s}`))));
  const classSel = document.getElementById("r-class");
  for (const c of await get("/api/event-classes")) classSel.append(el("option", { value: c.code }, `${c.code} ${c.name}`));
  const errorBox = document.getElementById("register-error");
  const form = document.getElementById("register-form");

  async function run(after) {
    errorBox.textContent = "";
    try {
      const number = await register();
      const message = after ? await after(number) : t("hotline.registered", { n: number });
      toast(message);
      form.reset();
      document.getElementById("suggest-box").replaceChildren();
      onRegistered();
    } catch (e) {
      errorBox.textContent = errorText(e);  // Chinese, naming the field
    }
  }

  attachSuggest({
    text: document.getElementById("r-text"), lon: document.getElementById("r-lon"),
    lat: document.getElementById("r-lat"), phone: document.getElementById("r-phone"),
    box: document.getElementById("suggest-box"),
    onPickClass: (code) => { classSel.value = code; },
    onMerge: (master) => run(async (number) => {
      await post(`/api/events/${encodeURIComponent(number)}/merge`,
        { master_number: master, reason: t("hotline.merge_reason") });
      return t("hotline.merged", { n: number, m: master });
    }),
    onRepeat: (earlier) => run(async (number) => {
      await post(`/api/events/${encodeURIComponent(number)}/repeat-of`, { earlier_number: earlier });
      return t("hotline.linked", { n: number, m: earlier });
    }),
  });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(null); });
}
