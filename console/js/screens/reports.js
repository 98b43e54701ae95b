// Reports (seed 004): customers by catalogue sales and by purchase frequency, grouped by e-mail,
// always over a period (the API refuses a report without one, next to the period's fields),
// sortable by every column, and exported to a spreadsheet through the exports API.
import * as api from "../api.js";
import { h, fill } from "../dom.js";
import { date, lang, money, number, t } from "../i18n.js";
import { currentRoute, replaceQuery } from "../router.js";
import { action, clearProblems, field, heading, note, showProblem, table } from "../ui.js";

export const MESSAGES = ["reports"];
const REPORTS = ["sales-by-customer", "purchase-frequency"];
// Each report's own filters: [name, input type, repeatable (comma-separated in one box)].
const FILTERS = {
  "sales-by-customer": [
    ["product", "text", true],
    ["brand", "text", true],
    ["category", "text", true],
  ],
  "purchase-frequency": [
    ["orders_min", "number", false],
    ["spent_min", "text", false],
    ["no_order_since", "date", false],
  ],
};
const PAGE = 100;

export async function render(main, { query }) {
  const state = {
    report: REPORTS.includes(query.get("report")) ? query.get("report") : REPORTS[0],
    sort: query.get("sort") || "",
  };
  heading(main, t("reports.title"));
  const form = h("form", { class: "panel", novalidate: true, "aria-label": t("reports.form") });
  const results = h("section", { id: "report-results", "aria-live": "polite" });
  main.append(h("p", { class: "note" }, t("reports.intro")), form, results);

  function drawForm() {
    const filters = FILTERS[state.report].map(([name, type]) =>
      field({
        label: t(`reports.filter.${name}`),
        name,
        type,
        value: query.get(name) || "",
        hint: t(`reports.filter.${name}.hint`),
        attrs: type === "number" ? { min: 1, step: 1 } : type === "text" && name === "spent_min" ? { inputmode: "decimal" } : {},
      }),
    );
    fill(
      form,
      field({
        label: t("reports.report"),
        name: "report",
        value: state.report,
        options: REPORTS.map((name) => [name, t(`reports.name.${name}`)]),
        attrs: {
          onchange: (event) => {
            state.report = event.target.value;
            state.sort = "";
            query = new URLSearchParams({ report: state.report, from: form.elements.from.value, to: form.elements.to.value });
            drawForm();
            fill(results);
          },
        },
      }),
      h(
        "fieldset",
        { class: "form-grid" },
        h("legend", {}, t("reports.period")),
        field({ label: t("reports.from"), name: "from", type: "date", value: query.get("from") || "", required: true }),
        field({ label: t("reports.to"), name: "to", type: "date", value: query.get("to") || "", required: true }),
      ),
      h("div", { class: "form-grid" }, filters),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("reports.run"))),
    );
  }

  function params() {
    const values = { from: form.elements.from.value, to: form.elements.to.value };
    for (const [name, , repeatable] of FILTERS[state.report]) {
      const raw = form.elements[name].value.trim();
      if (!raw) continue;
      values[name] = repeatable
        ? raw
            .split(",")
            .map((item) => item.trim())
            .filter(Boolean)
        : raw;
    }
    return values;
  }

  let generation = 0;
  async function run() {
    const mine = ++generation;
    clearProblems(form);
    const values = params();
    replaceQuery(
      Object.fromEntries(
        Object.entries({ report: state.report, sort: state.sort, ...values })
          .map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : value])
          .filter(([, value]) => value),
      ),
    );
    try {
      const page = await api.get(`/reports/${state.report}`, { ...values, sort: state.sort || undefined, limit: PAGE });
      if (mine !== generation) return;
      fill(results, ...drawPage(page, values, mine));
    } catch (error) {
      if (mine !== generation) return;
      fill(results);
      showProblem(form, inOwnersWords(error));
    }
  }

  function drawPage(page, values, mine) {
    const exportArea = h("div", { class: "actions" });
    const format = h("select", { id: "report-export-format", name: "format" }, [
      h("option", { value: "xlsx" }, t("reports.format.xlsx")),
      h("option", { value: "csv" }, t("reports.format.csv")),
    ]);
    const started = h("p", { class: "note", "aria-live": "polite" });
    exportArea.append(
      h("label", { for: "report-export-format" }, t("reports.export.format")),
      format,
      action(
        t("reports.export"),
        async () => {
          const job = await api.post("/exports", {
            kind: "report",
            format: format.value,
            language: lang(),
            report: { name: state.report, query: values },
          });
          fill(started, t("reports.export.started"), " ", h("a", { href: `#/exports?id=${encodeURIComponent(job.id)}` }, t("reports.export.follow")));
          started.querySelector("a").focus();
        },
        { where: exportArea },
      ),
      started,
    );
    const count = h("p", { class: "note" }, t("reports.rows", { count: page.total_rows }));
    if (!page.items.length) return [count, note(t("reports.empty"))];
    const grid = table({
      caption: t(`reports.name.${state.report}`),
      columns: columns(),
      rows: page.items,
      sort: state.sort || "email",
      onSort: (sort) => {
        state.sort = sort;
        run();
      },
    });
    let cursor = page.next_cursor;
    const more = cursor ? h("button", { type: "button" }, t("common.more")) : null;
    more?.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const next = await api.get(`/reports/${state.report}`, { ...values, sort: state.sort || undefined, limit: PAGE, cursor });
        if (mine !== generation) return;
        grid.tBodies[0].append(...table({ columns: columns(), rows: next.items }).tBodies[0].rows);
        cursor = next.next_cursor;
        if (cursor) more.disabled = false;
        else more.remove();
      } catch (error) {
        more.disabled = false;
        showProblem(results, error);
      }
    });
    return [count, exportArea, grid, more];
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  drawForm();
  if (query.get("from") && query.get("to") && currentRoute().path === "/reports") await run();
}

// The API says why a period is refused in English; the owner reads it in their language.
function inOwnersWords(error) {
  for (const item of error.errors || []) {
    if (item.code === "period_required") item.reason = t("reports.period.required");
    else if (item.code === "period_reversed") item.reason = t("reports.period.reversed");
  }
  return error;
}

function columns() {
  return [
    { key: "email", label: t("reports.col.email"), sort: "email" },
    { key: "orders", label: t("reports.col.orders"), sort: "orders", numeric: true, render: (r) => number(r.orders) },
    { key: "amount", label: t("reports.col.amount"), sort: "amount", numeric: true, render: (r) => money(r.amount, r.currency) },
    { key: "first_order_at", label: t("reports.col.first"), sort: "first_order_at", render: (r) => date(r.first_order_at) },
    { key: "last_order_at", label: t("reports.col.last"), sort: "last_order_at", render: (r) => date(r.last_order_at) },
  ];
}
