// The customer list (seed 000): search as you type, sortable columns, the API's cursor pages.
import * as api from "../api.js";
import { h } from "../dom.js";
import { date, money, number, t } from "../i18n.js";
import { currentRoute, replaceQuery } from "../router.js";
import { heading, note, showProblem, table } from "../ui.js";

export const MESSAGES = ["customers"];
const SEARCH_DELAY_MS = 250;

export async function render(main, { query }) {
  const state = { q: query.get("q") || "", sort: query.get("sort") || "" };
  const countLine = h("p", { class: "note", "aria-live": "polite" });
  heading(main, t("customers.title"), h("a", { class: "button primary", href: "#/customers/new" }, t("customers.add")));
  const search = h("input", {
    type: "search",
    name: "q",
    id: "customers-search",
    value: state.q,
    placeholder: t("customers.search.placeholder"),
    autocomplete: "off",
  });
  const results = h("div", { id: "customer-results" });
  main.append(
    h("div", { class: "field", role: "search" }, h("label", { for: "customers-search" }, t("customers.search.label")), search),
    countLine,
    results,
  );

  let generation = 0;
  async function load() {
    const mine = ++generation;
    replaceQuery(Object.fromEntries(Object.entries(state).filter(([, v]) => v)));
    const params = { q: state.q || undefined, sort: state.sort || undefined, limit: 50 };
    try {
      const [page, counted] = await Promise.all([api.get("/customers", params), api.get("/customers/count", { q: params.q })]);
      if (mine !== generation) return;
      countLine.textContent = t("customers.count", { count: counted.count });
      results.replaceChildren(...renderPage(page, params, mine));
    } catch (error) {
      if (mine === generation) showProblem(results, error);
    }
  }

  function renderPage(page, params, mine) {
    if (!page.items.length) return [note(t("customers.empty"))];
    const grid = table({
      caption: t("customers.title"),
      columns: columns(),
      rows: page.items,
      sort: page.sort,
      onSort: (sort) => {
        state.sort = sort;
        load();
      },
    });
    const more = page.next_cursor ? moreButton(grid, page.next_cursor, params, mine) : null;
    return [grid, more];
  }

  function moreButton(grid, cursor, params, mine) {
    const button = h("button", { type: "button" }, t("common.more"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const next = await api.get("/customers", { ...params, cursor });
        if (mine !== generation) return;
        const extra = table({ columns: columns(), rows: next.items });
        grid.tBodies[0].append(...extra.tBodies[0].rows);
        if (next.next_cursor) {
          cursor = next.next_cursor;
          button.disabled = false;
        } else {
          button.remove();
        }
      } catch (error) {
        button.disabled = false;
        showProblem(results, error);
      }
    });
    return button;
  }

  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value.trim();
      load();
    }, SEARCH_DELAY_MS);
  });
  if (currentRoute().path === "/customers") await load();
}

function fullName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || customer.email || customer.id;
}

function columns() {
  return [
    { key: "name", label: t("customers.col.name"), sort: "name", render: (c) => h("a", { href: `#/customers/${encodeURIComponent(c.id)}` }, fullName(c)) },
    { key: "email", label: t("customers.col.email") },
    { key: "orders_count", label: t("customers.col.orders"), sort: "orders_count", numeric: true, render: (c) => number(c.orders_count) },
    { key: "total_spent", label: t("customers.col.spent"), sort: "total_spent", numeric: true, render: (c) => money(c.total_spent, c.currency) },
    { key: "last_order_at", label: t("customers.col.last_order"), sort: "last_order_at", render: (c) => date(c.last_order_at) },
    { key: "created_at", label: t("customers.col.created"), sort: "created_at", render: (c) => date(c.created_at) },
  ];
}
