// E-mail templates (seed 000): the built-in ones and the store's own; an editor per language
// (subject, HTML, text) saved with If-Match, and a preview as a customer would get it, in a
// sandboxed frame (no scripts, no same origin: the e-mail's HTML never runs as the console).
import * as api from "../api.js";
import { ApiProblem } from "../api.js";
import { h } from "../dom.js";
import { LANGUAGES, dateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { action, clearProblems, field, heading, note, showProblem, table, toast } from "../ui.js";

export const MESSAGES = ["templates"];
const PARTS = ["subject", "html", "text"];

export async function render(main, { query }) {
  heading(main, t("templates.title"));
  const listArea = h("section", { "aria-labelledby": "templates-list-title" });
  const editorArea = h("section", { class: "template-editor", "aria-labelledby": "template-title" });
  main.append(listArea, editorArea);
  let items;
  try {
    items = (await api.get("/templates")).items;
  } catch (error) {
    showProblem(listArea, error);
    return;
  }
  const selected = query.get("id");
  listArea.append(
    h("h2", { id: "templates-list-title", class: "visually-hidden" }, t("templates.list")),
    table({
      caption: t("templates.list"),
      rows: items,
      rowAttrs: (row) => (row.id === selected ? { "aria-current": "true", class: "current" } : {}),
      columns: [
        { key: "name", label: t("templates.col.name"), render: (row) => h("a", { href: `#/templates?id=${encodeURIComponent(row.id)}` }, row.name) },
        { key: "builtin", label: t("templates.col.kind"), render: (row) => h("span", { class: "badge" }, t(row.builtin ? "templates.builtin" : "templates.own")) },
        { key: "languages", label: t("templates.col.languages"), render: (row) => row.languages.join(", ") },
        { key: "updated_at", label: t("templates.col.updated"), render: (row) => dateTime(row.updated_at) },
      ],
    }),
  );
  if (!selected) {
    editorArea.append(note(t("templates.pick")));
    return;
  }
  await renderEditor(editorArea, selected);
}

async function renderEditor(area, templateId) {
  const path = `/templates/${encodeURIComponent(templateId)}`;
  let template;
  let customers = [];
  try {
    [template, customers] = await Promise.all([
      api.get(path),
      api.get("/customers", { limit: 50 }).then((page) => page.items).catch(() => []),
    ]);
  } catch (error) {
    showProblem(area, error);
    return;
  }
  const contents = structuredClone(template.contents);
  let language = template.default_language;
  const readOnly = template.builtin;

  const partFields = h("div", { class: "template-parts" });
  const languagePick = field({
    label: t("templates.language"),
    name: "language",
    value: language,
    options: LANGUAGES.map((l) => [l.code, contents[l.code] ? l.name : t("templates.language.missing", { language: l.name })]),
  });
  const form = h(
    "form",
    { novalidate: true, "aria-labelledby": "template-title" },
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("templates.name"), name: "name", value: template.name, required: true, attrs: { readonly: readOnly } }),
      field({
        label: t("templates.default_language"),
        name: "default_language",
        value: template.default_language,
        options: LANGUAGES.map((l) => [l.code, l.name]),
        attrs: { disabled: readOnly },
      }),
      languagePick,
    ),
    field({ label: t("templates.description"), name: "description", value: template.description, attrs: { readonly: readOnly } }),
    partFields,
  );

  function drawParts() {
    const part = contents[language] || { subject: "", html: "", text: null };
    const at = `contents.${language}`;
    partFields.replaceChildren(
      field({ label: t("templates.subject"), name: `${at}.subject`, value: part.subject, attrs: { readonly: readOnly } }),
      field({ label: t("templates.html"), name: `${at}.html`, type: "textarea", value: part.html, attrs: { readonly: readOnly, rows: 12, spellcheck: "false" } }),
      field({ label: t("templates.text"), name: `${at}.text`, type: "textarea", value: part.text ?? "", hint: t("templates.text.hint"), attrs: { readonly: readOnly, rows: 6 } }),
    );
  }

  function keepParts() {
    const value = (name) => form.elements.namedItem(`contents.${language}.${name}`).value;
    const [subject, html, text] = PARTS.map(value);
    if (subject.trim() || html.trim() || text.trim() || contents[language]) {
      contents[language] = { subject, html, text: text.trim() ? text : null };
    }
  }

  languagePick.querySelector("select").addEventListener("change", (event) => {
    keepParts();
    language = event.target.value;
    drawParts();
    refreshPreview();
  });

  // The preview: the saved template rendered with sample data or a customer of the store.
  const customerPick = field({
    label: t("templates.preview.customer"),
    name: "customer_id",
    value: "",
    options: [["", t("templates.preview.sample")], ...customers.map((c) => [c.id, customerName(c)])],
  });
  const subjectLine = h("p", { class: "preview-subject" });
  const frame = h("iframe", { sandbox: "", title: t("templates.preview.frame"), class: "preview-frame", referrerpolicy: "no-referrer" });
  const textPart = h("pre", { class: "preview-text" });
  const previewArea = h(
    "section",
    { class: "panel", "aria-labelledby": "template-preview-title" },
    h("h3", { id: "template-preview-title" }, t("templates.preview")),
    h("p", { class: "hint" }, t("templates.preview.hint")),
    h("div", { class: "form-grid" }, customerPick),
    action(t("templates.preview.run"), () => refreshPreview(), { attrs: { "data-name": "preview" } }),
    h("div", { "aria-live": "polite" }, subjectLine),
    frame,
    h("details", {}, h("summary", {}, t("templates.preview.text")), textPart),
  );
  customerPick.querySelector("select").addEventListener("change", () => refreshPreview());

  async function refreshPreview() {
    clearProblems(form);
    clearProblems(previewArea);
    const customerId = customerPick.querySelector("select").value;
    try {
      const rendered = await api.post(`${path}/preview`, { customer_id: customerId || undefined, language });
      subjectLine.replaceChildren(h("strong", {}, `${t("templates.subject")}: `), rendered.subject);
      frame.srcdoc = rendered.html;
      textPart.textContent = rendered.text;
    } catch (error) {
      subjectLine.replaceChildren();
      frame.srcdoc = "";
      textPart.textContent = "";
      showPreviewProblem(error);
    }
  }

  // A template that cannot render names its part ("html: 'cart' is undefined"): shown next
  // to that part of the language being edited.
  function showPreviewProblem(error) {
    if (!(error instanceof ApiProblem) || error.status !== 422) {
      showProblem(previewArea, error);
      return;
    }
    const parts = error.errors.map((item) => [item, /^(subject|html|text): (.*)$/s.exec(item.reason || "")]);
    if (!parts.some(([item, match]) => item.field === "context" && match)) {
      showProblem(previewArea, error); // the chosen customer, say: next to the picker
      return;
    }
    const errors = parts.map(([item, match]) =>
      item.field === "context" && match
        ? { ...item, field: `contents.${language}.${match[1]}`, code: "template", reason: renderReason(error.detail, match[2]) }
        : item,
    );
    showProblem(form, Object.assign(Object.create(ApiProblem.prototype), error, { errors }));
  }

  const actions = h("div", { class: "actions" });
  if (readOnly) {
    actions.append(
      h("p", { class: "hint" }, t("templates.builtin.hint")),
      action(
        t("templates.copy"),
        async () => {
          const copy = await api.post("/templates", { from_builtin: template.id });
          toast(t("templates.copied"));
          navigate("/templates", { id: copy.id });
        },
        { where: form, kind: "primary" },
      ),
    );
  } else {
    const save = action(t("common.save"), () => saveTemplate(), { where: form, kind: "primary", attrs: { "data-name": "save" } });
    actions.append(save, h("span", { class: "hint", "data-name": "version" }, t("templates.version", { version: template.version })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save.click();
    });
  }

  async function saveTemplate() {
    clearProblems(form);
    keepParts();
    const kept = Object.fromEntries(Object.entries(contents).filter(([, part]) => part.subject.trim() || part.html.trim()));
    try {
      template = await api.put(
        path,
        {
          name: form.elements.name.value.trim(),
          description: form.elements.description.value,
          default_language: form.elements.default_language.value,
          contents: kept,
        },
        { "If-Match": `"${template.version}"` },
      );
    } catch (error) {
      const banner = showProblem(form, error);
      if (error instanceof ApiProblem && error.status === 412 && banner) {
        banner.append(action(t("templates.reload"), () => renderEditor(area, templateId), { where: form }));
      }
      return;
    }
    form.querySelector("[data-name='version']").textContent = t("templates.version", { version: template.version });
    toast(t("templates.saved"));
    await refreshPreview();
  }

  form.append(actions);
  area.replaceChildren(h("h2", { id: "template-title" }, template.name), form, previewArea);
  drawParts();
  await refreshPreview();
}

function customerName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || customer.email || customer.id;
}

function renderReason(code, detail) {
  const missing = /'([^']+)' is undefined|has no attribute '([^']+)'/.exec(detail);
  if (code === "missing_variable" && missing) return t("templates.error.missing_variable", { name: missing[1] || missing[2] });
  const key = `templates.error.${code}`;
  const text = t(key);
  return text === key ? detail : `${text} ${detail}`;
}
