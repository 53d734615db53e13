// The grid worker's verification on the spot (核查), laid out for a phone.
import { clear, el, empty, errorText, fmtTime, get, post, shell, t, toast } from "./core.js";
import { actionForm, uploadPhotos } from "./forms.js";

async function details(number, box) {
  const [e, files] = await Promise.all([get(`/api/events/${encodeURIComponent(number)}`),
    get(`/api/events/${encodeURIComponent(number)}/attachments`)]);
  const results = e.tasks.filter((k) => k.result).map((k) => el("p", { class: "pre" }, `${k.unit_name}：`, k.result));
  box.append(el("p", { class: "pre" }, e.description || ""), ...results,
    el("div", { class: "photos" }, files.filter((f) => f.content_type.startsWith("image/"))
      .map((f) => el("img", { src: f.url, alt: f.filename, loading: "lazy" }))));
  return e;
}

async function load() {
  const list = clear(document.getElementById("verify-list"));
  let items;
  try { items = await get("/api/my/verifications"); } catch (e) { list.append(el("p", { class: "error" }, errorText(e))); return; }
  if (!items.length) list.append(empty(t("verify.empty")));
  for (const v of items) {
    const body = el("div", { class: "verify-body" });
    const path = `/api/events/${encodeURIComponent(v.number)}/verify`;
    const card = el("article", { class: "card verify", "data-number": v.number },
      el("header", { class: "card-head" }, el("strong", { class: "card-title" }, v.title)),
      el("p", { class: "muted small" }, [v.number, v.area_name, v.address].filter(Boolean).join(" · ")),
      el("p", { class: "small" }, `${t("verify.reported_at")}：${fmtTime(v.reported_at)}`),
      body,
      el("div", { class: "verify-actions" },
        actionForm(t("verify.pass"), [{ name: "photos", label: t("verify.photo"), type: "file" }], async (f) => {
          await uploadPhotos(v.number, null, f.photos);
          await post(path, { passed: true, expected_version: null });
          toast(t("verify.done")); load();
        }, { open: false }),
        actionForm(t("verify.fail"), [{ name: "reason", label: t("verify.fail_reason"), type: "textarea", required: true }],
          async (f) => { await post(path, { passed: false, reason: f.reason.value.trim() }); toast(t("verify.done")); load(); },
          { cls: "warn" })));
    list.append(card);
    details(v.number, body).catch(() => {});
  }
  document.body.dataset.ready = "1";
}

(async () => { await shell(); await load(); })();
