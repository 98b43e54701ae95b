// Import (seed 003's "import a CSV", seed 001's "how many new accounts before it does"): the file
// goes straight to S3 through the presigned PUT the API hands out, then the preview's counts and
// refused rows, the commit, and its progress until the customers are written.
import * as api from "../api.js";
import { append, h, fill } from "../dom.js";
import { dateTime, number, t } from "../i18n.js";
import { currentRoute, replaceQuery } from "../router.js";
import { action, clearProblems, field, heading, note, progress, showProblem, table } from "../ui.js";

export const MESSAGES = ["imports"];
const POLL_MS = 800;
const SETTLED = new Set(["previewed", "committed", "failed"]);
const COUNTS = ["create", "update", "unchanged", "refused", "repeated"];
// What the imports API takes (UploadCreate.content_type); a file the browser cannot type is text.
const TYPES = new Set(["text/csv", "application/zip", "text/plain", "application/vnd.ms-excel"]);

export async function render(main, { query }) {
  heading(main, t("imports.title"));
  const form = h("form", { class: "panel", novalidate: true, "aria-labelledby": "imports-form-title" });
  const fileField = field({
    label: t("imports.file"),
    name: "upload_id",
    type: "file",
    required: true,
    hint: t("imports.file.hint"),
    attrs: { accept: ".csv,.txt,.zip,text/csv,application/zip" },
  });
  const tagsField = field({ label: t("imports.tags"), name: "tags", hint: t("imports.tags.hint") });
  const update = h("input", { type: "checkbox", id: "imports-update", name: "update_existing", checked: true });
  const submit = h("button", { type: "submit", class: "primary" }, t("imports.preview"));
  fill(
    form,
    h("h2", { id: "imports-form-title" }, t("imports.form.title")),
    fileField,
    tagsField,
    h("div", { class: "field" }, h("label", {}, update, " ", t("imports.update_existing"))),
    h("div", { class: "actions" }, submit),
  );
  const result = h("section", { id: "import-result", "aria-live": "polite" });
  main.append(h("p", { class: "note" }, t("imports.intro")), form, result);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(form);
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) {
      showProblem(form, localProblem("upload_id", t("imports.file.missing")));
      return;
    }
    submit.disabled = true;
    try {
      const upload = await startUpload(file);
      const job = await api.post("/imports", {
        upload_id: upload.upload_id,
        filename: file.name,
        update_existing: update.checked,
        tags: splitTags(form.elements.tags.value),
      });
      follow(job.id).catch((error) => showProblem(result, error));
    } catch (error) {
      showProblem(form, error);
    } finally {
      submit.disabled = false;
    }
  });

  let generation = 0;
  async function follow(id) {
    const mine = ++generation;
    replaceQuery({ id });
    let job = await api.get(`/imports/${encodeURIComponent(id)}`);
    while (mine === generation && currentRoute().path === "/imports") {
      await show(job, mine);
      if (SETTLED.has(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await api.get(`/imports/${encodeURIComponent(id)}`);
    }
  }

  async function show(job, mine) {
    const parts = [h("h2", { id: "import-status" }, t(`imports.status.${job.status}`))];
    parts.push(
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("imports.filename")),
        h("dd", {}, job.filename),
        h("dt", {}, t("imports.started")),
        h("dd", {}, dateTime(job.created_at)),
        job.source ? [h("dt", {}, t("imports.source")), h("dd", {}, job.source)] : null,
        job.rows !== null ? [h("dt", {}, t("imports.rows")), h("dd", {}, number(job.rows))] : null,
      ),
    );
    if (job.status === "failed") {
      parts.push(h("div", { class: "problem", role: "alert" }, h("p", {}, t("imports.failed")), h("p", {}, job.error || "")));
    } else if (!SETTLED.has(job.status)) {
      const bar = progress(t("imports.progress"));
      if (job.progress) bar.set(job.progress.done, job.progress.total);
      parts.push(bar);
    }
    if (["previewed", "committing", "committed"].includes(job.status)) {
      parts.push(countsTable(t("imports.preview.caption"), job.preview));
    }
    if (job.status === "committed" && job.committed) {
      parts.push(countsTable(t("imports.committed.caption"), job.committed));
      parts.push(h("p", {}, h("a", { href: "#/customers" }, t("imports.see_customers"))));
    }
    if (job.status === "previewed") {
      const area = h("div", { class: "actions" });
      append(area, [
        action(
          t("imports.commit"),
          async () => {
            await api.post(`/imports/${encodeURIComponent(job.id)}/commit`);
            follow(job.id).catch((error) => showProblem(result, error));
          },
          { where: area, kind: "primary" },
        ),
        job.preview.create + job.preview.update === 0 ? h("span", { class: "note" }, t("imports.nothing")) : null,
      ]);
      parts.push(area);
    }
    if (job.report && ["previewed", "committed"].includes(job.status)) {
      parts.push(await issuesTable(job.report.url));
    }
    if (mine !== generation) return;
    const hadFocus = result.contains(document.activeElement);
    fill(result, parts);
    // After a step settles, the owner hears its heading (the status) and lands on what's next.
    if (SETTLED.has(job.status) && !hadFocus) {
      const next = result.querySelector("button.primary") || result.querySelector("#import-status");
      next.setAttribute("tabindex", next.tagName === "BUTTON" ? "0" : "-1");
      next.focus();
    }
  }

  const id = query.get("id");
  if (id) {
    try {
      await follow(id);
    } catch (error) {
      showProblem(result, error);
    }
  }
}

async function startUpload(file) {
  const type = TYPES.has(file.type) ? file.type : file.name.toLowerCase().endsWith(".zip") ? "application/zip" : "text/csv";
  let upload;
  try {
    upload = await api.post("/imports/uploads", { size: file.size, content_type: type });
  } catch (error) {
    // The size and type are the file's: the owner fixes them by picking another file.
    for (const item of error.errors || []) item.field = "upload_id";
    throw error;
  }
  // Only the signed headers: the browser sets Content-Length from the file itself, and the
  // bearer token never goes to S3.
  const headers = Object.fromEntries(Object.entries(upload.headers).filter(([name]) => name.toLowerCase() !== "content-length"));
  const response = await fetch(upload.url, { method: upload.method || "PUT", headers, body: file });
  if (!response.ok) throw localProblem("upload_id", t("imports.upload.failed"));
  return upload;
}

function splitTags(text) {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

function localProblem(name, reason) {
  return new api.ApiProblem(422, {
    type: "https://clientela.dev/problems/validation-error",
    errors: [{ field: name, reason }],
  });
}

function countsTable(caption, counts) {
  return table({
    caption,
    columns: [
      { key: "kind", label: t("imports.col.outcome") },
      { key: "count", label: t("imports.col.rows"), numeric: true, render: (row) => number(row.count) },
    ],
    rows: COUNTS.map((kind) => ({ kind: t(`imports.count.${kind}`), count: counts[kind] })),
  });
}

async function issuesTable(url) {
  let rows;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(String(response.status));
    rows = parseCsv((await response.text()).replace(/^\uFEFF/, ""));
  } catch {
    return h("p", {}, h("a", { href: url }, t("imports.report.download")));
  }
  const [header, ...body] = rows;
  const items = body
    .filter((cells) => cells.length === header.length)
    .map((cells) => Object.fromEntries(header.map((name, index) => [name, cells[index]])));
  if (!items.length) return note(t("imports.issues.none"));
  const shown = items.slice(0, 200);
  return h(
    "div",
    {},
    table({
      caption: t("imports.issues.caption", { count: items.length }),
      columns: [
        { key: "row", label: t("imports.col.row"), numeric: true, render: (r) => number(r.row) },
        { key: "column", label: t("imports.col.column"), render: (r) => columnName(r.column) },
        {
          key: "problem",
          label: t("imports.col.reason"),
          render: (r) => (r.repeats_row ? t("imports.repeats", { row: number(r.repeats_row) }) : h("span", { lang: "en" }, r.problem)),
        },
      ],
      rows: shown,
    }),
    items.length > shown.length ? note(t("imports.issues.more", { count: items.length - shown.length })) : null,
    h("p", {}, h("a", { href: url }, t("imports.report.download"))),
  );
}

function columnName(column) {
  if (!column) return "";
  const key = `imports.field.${column}`;
  const text = t(key);
  return text === key ? column : text;
}

/** RFC 4180: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ",") {
      row.push(cell);
      cell = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i += 1;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += char;
    }
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
