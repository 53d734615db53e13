import { ApiError, api, session, t } from "./core.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const next = new URLSearchParams(location.search).get("next");
// only a path on this site, never an absolute URL someone slipped into the link
const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";

document.getElementById("clock").textContent = "";
document.getElementById("signout").hidden = true;

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const code = form.code.value.trim();
  if (!code) { error.textContent = t("login.failed"); form.code.focus(); return; }
  try {
    session.clear();
    const r = await api("POST", "/api/auth/login", { code, password: form.password.value });
    session.setCsrf(r.csrf_token);
    if (r.must_change_password) alert(t("login.must_change"));
    location.href = target;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
      // this server has no sign-in yet: act as the person named (demo and tests only)
      session.setActor(code);
      try {
        await api("GET", "/api/web/me");
        location.href = target;
      } catch (e2) {
        session.clear();
        error.textContent = t("login.failed");
      }
      return;
    }
    error.textContent = t("login.failed");
  }
});

(async () => {
  try { await api("GET", "/api/auth/me"); } catch (e) {
    if (e instanceof ApiError && e.status === 404) document.getElementById("login-mode").textContent = t("login.no_password_yet");
  }
})();
