// 我的通知: my channels and quiet hours (errors at their field, in Chinese), and the notices I received
// with their delivery state and receipts, acknowledging a chain still open from here.
import { api, el, get, shell, t, toast } from "./core.js";
import { clearFieldErrors, showFieldErrors } from "./field_errors.js";
import { renderNotices } from "./notice_list.js";

const form = document.getElementById("nu-settings");

function fill(s) {
  for (const box of form.querySelectorAll("input[name=channels]")) box.checked = box.value === "inapp" || s.channels.includes(box.value);
  form.quiet_start.value = s.quiet_start || "";
  form.quiet_end.value = s.quiet_end || "";
  const phone = document.getElementById("nu-phone");
  phone.replaceChildren(s.phone ? s.phone : el("span", { class: "warn-text" }, t("nu.settings.no_phone")));
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearFieldErrors(form);
  const channels = [...form.querySelectorAll("input[name=channels]:checked")].map((b) => b.value);
  const body = { channels, quiet_start: form.quiet_start.value.trim() || null, quiet_end: form.quiet_end.value.trim() || null };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    fill(await api("PUT", "/api/notices/settings/mine", body));
    toast(t("nu.settings.saved"));
  } catch (e) { showFieldErrors(form, e); }
  finally { button.disabled = false; }
});

(async () => {
  await shell();
  try { fill(await get("/api/notices/settings/mine")); } catch (e) { showFieldErrors(form, e); }
  await renderNotices(document.getElementById("nu-received"), "/api/notices/mine", { canAck: true });
  document.body.dataset.ready = "1";
})();
