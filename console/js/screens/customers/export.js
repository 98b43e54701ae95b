// Exporting customers from the list: the e-mails only, or the columns the owner ticks among
// those POST /exports offers, then the export's progress and its download link.
import * as api from "../../api.js";
import { h, uid } from "../../dom.js";
import { lang, t } from "../../i18n.js";
import { field, progress, showProblem } from "../../ui.js";

const POLL_MS = 400;

// The columns an export of customers can have (NewExport.fields), the defaults ticked.
const EXPORT_COLUMNS = [
  "id", "email", "phone", "first_name", "last_name", "city", "region", "postcode", "country",
  "gender", "birthday", "language", "tags", "favorite", "email_consent", "sms_consent",
  "orders_count", "total_spent", "currency", "first_order_at", "last_order_at", "last_seen_at",
  "created_at",
];
const EXPORT_DEFAULTS = new Set([
  "id", "email", "phone", "first_name", "last_name", "city", "country", "tags", "email_consent",
  "orders_count", "total_spent", "currency", "last_order_at", "created_at",
]);

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens the export dialog for a target of POST /exports ({ids}, {filter} or {} for every
 * customer); the job's progress and link go at the top of `work`.
 */
export function openExport(target, { work, returnFocus }) {
  const formId = uid("export");
  const firstColumn = uid("fields");
  const columnsBox = h(
    "fieldset",
    { class: "columns" },
    h("legend", {}, t("customers.export.columns")),
    h(
      "div",
      { class: "column-grid" },
      EXPORT_COLUMNS.map((name, index) => {
        const id = index === 0 ? firstColumn : uid("fields");
        return h(
          "label",
          { for: id, class: "check" },
          h("input", { type: "checkbox", id, name: "fields", value: name, checked: EXPORT_DEFAULTS.has(name) }),
          ` ${t(`customers.export.col.${name}`)}`,
        );
      }),
    ),
    h("p", { id: `${firstColumn}-error`, class: "field-error", hidden: true }),
  );
  const kindId = uid("kind");
  const form = h(
    "form",
    { id: formId, method: "dialog", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, t("customers.export.what")),
      h("label", { class: "check" }, h("input", { type: "radio", name: "kind", value: "emails", id: kindId, checked: true }), ` ${t("customers.export.emails")}`),
      h("label", { class: "check" }, h("input", { type: "radio", name: "kind", value: "customers" }), ` ${t("customers.export.customers")}`),
    ),
    columnsBox,
    field({ label: t("customers.export.format"), name: "format", options: [["csv", "CSV"], ["xlsx", "Excel (XLSX)"]], value: "csv" }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => dialog.close() }, t("common.cancel")),
      h("button", { type: "submit", class: "primary" }, t("customers.export.start")),
    ),
  );
  const dialog = h(
    "dialog",
    { class: "export-dialog", "aria-labelledby": `${formId}-title` },
    h("h2", { id: `${formId}-title` }, target.ids ? t("customers.export.title_selected", { count: target.ids.length }) : t("customers.export.title")),
    form,
  );
  const syncKind = () => {
    columnsBox.disabled = form.elements.kind.value !== "customers";
  };
  form.addEventListener("change", syncKind);
  syncKind();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    const body = { kind, format: form.elements.format.value, language: lang(), target };
    if (kind === "customers") body.fields = [...form.querySelectorAll("[name='fields']:checked")].map((box) => box.value);
    try {
      const job = await api.post("/exports", body);
      dialog.close();
      followExport(job, work);
    } catch (error) {
      showProblem(form, error);
    }
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    returnFocus?.focus({ preventScroll: true });
  });
  document.body.append(dialog);
  dialog.showModal();
}

async function followExport(job, work) {
  const bar = progress(t("customers.export.progress"));
  const line = h("p", {}, t("customers.export.running"));
  const box = h("section", { class: "panel export", "aria-label": t("customers.export.title") }, line, bar);
  work.prepend(box);
  try {
    while (job.status === "running" || job.status === "assembling") {
      bar.set(job.progress.rows_done, job.progress.total ?? job.progress.rows_done);
      await sleep(POLL_MS);
      if (!box.isConnected) return; // the owner left the screen; the Exports screen lists it
      job = await api.get(`/exports/${encodeURIComponent(job.id)}`);
    }
  } catch (error) {
    showProblem(box, error);
    return;
  }
  if (job.status !== "done") {
    bar.remove();
    box.classList.add("problem");
    line.textContent = t("customers.export.failed", { reason: job.reason || job.status });
    return;
  }
  bar.set(job.rows ?? 0, job.rows ?? 0);
  line.textContent = t("customers.export.done", { count: job.rows ?? 0 });
  const links = job.files.map((file) =>
    h("a", { href: file.url, class: "button primary download", download: file.name }, t("customers.export.download", { name: file.name })),
  );
  box.append(h("p", { class: "actions" }, links), h("p", { class: "hint" }, t("customers.export.link_note")));
  links[0]?.focus();
}
