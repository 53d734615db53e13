// Sign-in: staff code and password → the session cookie (HttpOnly) and the CSRF token; a person
// with an initial password changes it here before going on.
import { ApiError, api, errorText, session, t } from "./core.js";

const form = document.getElementById("login-form");
const pwForm = document.getElementById("password-form");
const error = document.getElementById("login-error");
// Only a path on this site, never another host someone slipped into the link: "//evil", "/\\evil"
// and "/<tab>/evil" all lead elsewhere in a browser. The server checked it (domain/redirects.py);
// checked again here, with the same rule, on what the address bar holds.
export function safeNext(value) {
  if (!value || value.length > 2000) return "/";
  let decoded;
  try { decoded = decodeURIComponent(value); } catch { return "/"; }
  for (const v of [value, decoded]) {
    // eslint-disable-next-line no-control-regex
    if (!v.startsWith("/") || v.startsWith("//") || /[\u0000-\u001f\u007f\\]/.test(v)) return "/";
  }
  if (value === "/login" || /^\/login[?/#]/.test(value)) return "/";
  return value;
}
const target = safeNext(form.dataset.next ?? new URLSearchParams(location.search).get("next"));
let currentPassword = "";

document.getElementById("signout").hidden = true;

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const code = form.code.value.trim();
  if (!code || !form.password.value) { error.textContent = t("login.failed"); (code ? form.password : form.code).focus(); return; }
  try {
    session.clear();
    const r = await api("POST", "/api/auth/login", { code, password: form.password.value });
    session.setCsrf(r.csrf_token);
    if (r.must_change_password) {
      currentPassword = form.password.value;
      form.hidden = true;
      pwForm.hidden = false;
      pwForm.new_password.focus();
      return;
    }
    location.href = target;
  } catch (e) {
    error.textContent = e instanceof ApiError && e.status === 429 ? t("login.locked") : t("login.failed");
  }
});

pwForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("password-error");
  out.textContent = "";
  if (pwForm.new_password.value !== pwForm.again.value) { out.textContent = t("login.password_mismatch"); return; }
  try {
    await api("POST", "/api/auth/password", { current_password: currentPassword, new_password: pwForm.new_password.value });
    location.href = target;
  } catch (e) {
    out.textContent = errorText(e);
  }
});
