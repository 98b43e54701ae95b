// Exports: the store's export jobs (who asked what, when), their progress while they run, the
// download links once done, and starting a new one of the kinds the exports API offers.
import * as api from "../api.js";
import { h, fill } from "../dom.js";
import { dateTime, lang, number, t } from "../i18n.js";
import { currentRoute } from "../router.js";
import { action, field, heading, note, showProblem, table, toast } from "../ui.js";

export const MESSAGES = ["exports"];
const KINDS = ["customers", "emails", "orders", "wallets"];
const FORMATS = ["xlsx", "csv", "jsonl"];
const ACTIVE = new Set(["running", "assembling"]);
const POLL_MS = 1000;
const PAGE = 20;

export async function render(main, { query }) {
  heading(main, t("exports.title"));
  const form = h("form", { class: "panel", novalidate: true, "aria-labelledby": "exports-new-title" });
  const list = h("section", { id: "export-jobs", "aria-labelledby": "exports-jobs-title" });
  fill(
    form,
    h("h2", { id: "exports-new-title" }, t("exports.new")),
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("exports.kind"), name: "kind", value: query.get("kind") || "customers", options: KINDS.map((k) => [k, t(`exports.kind.${k}`)]) }),
      field({ label: t("exports.format"), name: "format", value: "xlsx", options: FORMATS.map((f) => [f, t(`exports.format.${f}`)]) }),
      field({ label: t("exports.notify"), name: "notify", type: "email", hint: t("exports.notify.hint"), attrs: { autocomplete: "email" } }),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("exports.start"))),
  );
  main.append(form, h("h2", { id: "exports-jobs-title" }, t("exports.jobs")), list);

  const state = { items: [], cursor: null, highlight: query.get("id") };
  let timer = null;
  let generation = 0;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { kind: form.elements.kind.value, format: form.elements.format.value, language: lang() };
      if (form.elements.notify.value.trim()) body.notify = form.elements.notify.value.trim();
      const job = await api.post("/exports", body);
      state.items = [job, ...state.items.filter((item) => item.id !== job.id)];
      state.highlight = job.id;
      draw();
      toast(t("exports.started"));
      poll();
    } catch (error) {
      showProblem(form, error);
    } finally {
      button.disabled = false;
    }
  });

  async function load() {
    const mine = ++generation;
    try {
      const page = await api.get("/exports", { limit: PAGE });
      if (mine !== generation) return;
      state.items = page.items;
      state.cursor = page.next_cursor;
      draw();
      poll();
    } catch (error) {
      showProblem(list, error);
    }
  }

  async function poll() {
    clearTimeout(timer);
    if (!state.items.some((job) => ACTIVE.has(job.status))) return;
    timer = setTimeout(async () => {
      if (currentRoute().path !== "/exports" || !document.body.contains(list)) return;
      try {
        const fresh = await Promise.all(
          state.items.map((job) => (ACTIVE.has(job.status) ? api.get(`/exports/${encodeURIComponent(job.id)}`) : job)),
        );
        state.items = fresh;
        draw();
      } catch (error) {
        showProblem(list, error);
        return;
      }
      poll();
    }, POLL_MS);
  }

  function draw() {
    if (!state.items.length) {
      fill(list, note(t("exports.empty")));
      return;
    }
    const grid = table({
      caption: t("exports.jobs.caption"),
      columns: [
        { key: "requested_at", label: t("exports.col.requested"), render: (job) => dateTime(job.requested_at) },
        { key: "kind", label: t("exports.col.kind"), render: kindText },
        { key: "format", label: t("exports.col.format"), render: (job) => t(`exports.format.${job.format}`) },
        { key: "requested_by", label: t("exports.col.by") },
        { key: "status", label: t("exports.col.status"), render: statusCell },
        { key: "rows", label: t("exports.col.rows"), numeric: true, render: (job) => (job.rows === null ? "" : number(job.rows)) },
        { key: "files", label: t("exports.col.files"), render: filesCell },
      ],
      rows: state.items,
      rowAttrs: (job) => ({ "data-job": job.id, "aria-current": job.id === state.highlight ? "true" : null }),
    });
    const more = state.cursor
      ? action(t("common.more"), async () => {
          const page = await api.get("/exports", { limit: PAGE, cursor: state.cursor });
          state.items = [...state.items, ...page.items];
          state.cursor = page.next_cursor;
          draw();
        }, { where: list })
      : null;
    fill(list, grid, more);
  }

  function filesCell(job) {
    if (job.status !== "done") return "";
    return h(
      "ul",
      {},
      job.files.map((file, index) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: file.url,
              download: file.name,
              onclick: (event) => freshLink(event, job, index),
            },
            t("exports.download", { name: file.name }),
          ),
          " ",
          h("span", { class: "note" }, t("exports.size", { size: kilobytes(file.size) })),
        ),
      ),
    );
  }

  // A link is signed for a few minutes: one older than that is signed again before it is used.
  async function freshLink(event, job, index) {
    if (!job.link_expires_at || new Date(job.link_expires_at).getTime() - Date.now() > 10_000) return;
    event.preventDefault();
    try {
      const fresh = await api.get(`/exports/${encodeURIComponent(job.id)}`);
      state.items = state.items.map((item) => (item.id === fresh.id ? fresh : item));
      if (fresh.files[index]?.url) window.location.assign(fresh.files[index].url);
      else draw();
    } catch (error) {
      showProblem(list, error);
    }
  }

  await load();
}

function kindText(job) {
  const kind = t(`exports.kind.${job.kind}`);
  return job.kind === "report" && job.report ? `${kind}: ${t(`exports.report.${job.report.name}`)}` : kind;
}

function statusCell(job) {
  const tone = job.status === "done" ? "ok" : job.status === "failed" ? "bad" : ACTIVE.has(job.status) ? "warn" : "";
  const badge = h("span", { class: `badge ${tone}` }, t(`exports.status.${job.status}`));
  if (ACTIVE.has(job.status)) {
    const { rows_done: done, total } = job.progress || {};
    const label = t("exports.progress");
    const bar = h("progress", { max: Math.max(total || 0, 1), value: Math.min(done || 0, total || 1), "aria-label": label });
    if (!total) bar.removeAttribute("value"); // an owner that cannot count yet: indeterminate
    return h("div", {}, badge, " ", bar, " ", total ? `${number(done)} / ${number(total)}` : number(done || 0));
  }
  if (job.status === "failed") return h("div", {}, badge, h("p", { class: "field-error", lang: "en" }, job.reason || ""));
  return badge;
}

function kilobytes(size) {
  return number(Math.max((size || 0) / 1024, 0.1), { maximumFractionDigits: 1 });
}
