// The customer list (seed 000): search as you type, filters kept in the address (a reload or a
// bookmark keeps them), sortable columns, the API's cursor pages, the count, saved segments,
// favourites, and multi-select with a task bar whose large actions run as jobs with progress.
import * as api from "../api.js";
import { h, fill, uid } from "../dom.js";
import { date, money, number, t } from "../i18n.js";
import { currentRoute, replaceQuery } from "../router.js";
import { clearProblems, confirmDialog, field, heading, note, progress, showProblem, table, toast } from "../ui.js";
import { FILTERS, GROUPS, STATE_KEYS, filterBody, filterField, queryOf, splitList, stateOfFilter } from "./customers/filters.js";

export const MESSAGES = ["customers"];
const SEARCH_DELAY_MS = 250;
const PAGE_SIZE = 50;
const POLL_MS = 400;
const PAGE_SIZES = [10, 25, 50, 100, 200];
// About what a screen shows under the list's controls (about 9 rows at 1280×800, 13 on a full
// HD screen): asked for first, so they are on screen before the API has read the rest of the page
// (its answer is the long wait of a first load, and grows with the rows asked), which follows.
const FIRST_ROWS = 15;

// The export dialog opens on a click: its module stays off the first rows' path.
async function openExport(target, options) {
  const { openExport: open } = await import("./customers/export.js");
  open(target, options);
}

/** Built-in segments are named by the API in English: the console names them by id. */
function segmentTitle(segment) {
  if (segment.kind !== "built_in") return segment.name;
  const key = `customers.segment.${segment.id}`;
  const known = t(key);
  return known === key ? segment.name : known;
}

function fullName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || customer.email || customer.id;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function render(main, { query }) {
  const state = {};
  for (const key of STATE_KEYS) if (query.get(key)) state[key] = query.get(key);
  // The first rows are asked for before the screen is built: the answer is the long wait.
  let early = currentRoute().path === "/customers" ? firstRows(listParams()) : null;
  early?.catch(() => {}); // load() awaits it and shows a refusal; this only keeps it from being "unhandled"

  const selection = { ids: new Map(), allMatching: false };
  let rows = []; // the customers on screen, in order
  let total = null; // GET /customers/count
  let generation = 0;

  const exportButton = h("button", { type: "button" }, t("customers.export.open"));
  heading(
    main,
    t("customers.title"),
    exportButton,
    h("a", { class: "button primary", href: "#/customers/new" }, t("customers.add")),
  );

  // Search
  const search = h("input", {
    type: "search",
    name: "q",
    id: "customers-search",
    value: state.q || "",
    placeholder: t("customers.search.placeholder"),
    autocomplete: "off",
    "aria-describedby": "customers-search-error",
  });

  // Filters: a toggle that shows a form, applied on submit so a half-typed range never runs.
  const panelId = uid("filters");
  const filterToggle = h("button", { type: "button", "aria-expanded": "false", "aria-controls": panelId });
  const tagList = h("datalist", { id: uid("tags") });
  const filterForm = h(
    "form",
    { id: panelId, class: "panel filters", hidden: true, "aria-label": t("customers.filters.title"), novalidate: true },
    GROUPS.map(([group, filters]) =>
      h(
        "fieldset",
        { class: "filter-group" },
        h("legend", {}, t(`customers.filters.group.${group}`)),
        filters.map((filter) => filterField(filter, state, tagList.id)),
      ),
    ),
    tagList,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("customers.filters.apply")),
      h("button", { type: "button", onclick: () => resetFilters() }, t("customers.filters.reset")),
    ),
  );
  filterToggle.addEventListener("click", () => setPanel(filterForm.hidden));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const filter of FILTERS) {
      const value = filterForm.elements[filter.name].value.trim();
      if (value && !(filter.name === "tag_mode" && value === "any")) state[filter.name] = value;
      else delete state[filter.name];
    }
    refreshToggle();
    load();
  });

  // Segments: saved filters with their counts; opening one applies its filter.
  const segmentList = h("ul", { class: "segment-list" });
  const segmentName = field({ label: t("customers.segments.name"), name: "name", attrs: { maxlength: 100 } });
  const segmentForm = h(
    "form",
    { class: "segment-save", novalidate: true },
    segmentName,
    h("button", { type: "submit" }, t("customers.segments.save")),
  );
  const segments = h(
    "section",
    { class: "panel segments", "aria-labelledby": "segments-title" },
    h("h2", { id: "segments-title" }, t("customers.segments.title")),
    segmentList,
    segmentForm,
  );
  segmentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(controls);
    try {
      const name = segmentForm.elements.name.value.trim();
      const saved = await api.post("/segments", { name, filter: filterBody(state) });
      segmentForm.reset();
      toast(t("customers.segments.saved", { name: saved.name }));
      await loadSegments();
    } catch (error) {
      showProblem(controls, error);
      if (error instanceof api.ApiProblem && error.slug === "segment-name-taken") {
        const slot = document.getElementById(`${segmentForm.elements.name.id}-error`);
        slot.textContent = t("customers.segments.taken");
      }
    }
  });

  const tools = h("div", { class: "list-tools" }, filterForm, segments);
  const countLine = h("p", { class: "note count", "aria-live": "polite", tabindex: "-1" });
  const pageSize = field({
    label: t("customers.page_size"),
    name: "limit",
    value: String(state.limit || PAGE_SIZE),
    options: PAGE_SIZES.map((size) => [String(size), number(size)]),
  });
  pageSize.querySelector("select").addEventListener("change", (event) => {
    state.limit = event.target.value === String(PAGE_SIZE) ? "" : event.target.value;
    load();
  });
  const results = h("div", { id: "customer-results" });
  const work = h("div", { class: "work", "aria-live": "polite" }); // jobs and exports in progress
  const taskbar = h("div", { class: "taskbar", role: "region", "aria-label": t("customers.bulk.region"), hidden: true });

  const controls = h(
    "div",
    {},
    h(
      "div",
      { class: "list-bar" },
      h(
        "div",
        { class: "field", role: "search" },
        h("label", { for: "customers-search" }, t("customers.search.label")),
        search,
        h("p", { id: "customers-search-error", class: "field-error", hidden: true }),
      ),
      filterToggle,
    ),
    tools,
  );
  main.append(
    controls,
    h("div", { class: "count-bar" }, countLine, pageSize),
    work,
    results,
    taskbar,
  );
  refreshToggle();
  setPanel(FILTERS.some((f) => state[f.name]));

  function setPanel(open) {
    filterForm.hidden = !open;
    filterToggle.setAttribute("aria-expanded", String(open));
  }

  function refreshToggle() {
    const active = FILTERS.filter((f) => state[f.name] && f.name !== "tag_mode").length;
    filterToggle.textContent = active ? t("customers.filters.toggle_active", { count: active }) : t("customers.filters.toggle");
  }

  function resetFilters() {
    for (const filter of FILTERS) delete state[filter.name];
    filterForm.reset();
    for (const filter of FILTERS) filterForm.elements[filter.name].value = filter.name === "tag_mode" ? "any" : "";
    refreshToggle();
    load();
  }

  function applyState(next) {
    // A segment is a search and filters: the owner's sort and page size stay.
    for (const key of STATE_KEYS) if (key !== "sort" && key !== "limit") delete state[key];
    Object.assign(state, next);
    search.value = state.q || "";
    for (const filter of FILTERS) {
      const value = state[filter.name] || (filter.name === "tag_mode" ? "any" : "");
      filterForm.elements[filter.name].value = filter.type === "date" ? value.slice(0, 10) : value;
    }
    refreshToggle();
  }

  async function loadSegments() {
    try {
      const { items } = await api.get("/segments");
      fill(
        segmentList,
        items.map((segment) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "link",
                onclick: () => {
                  applyState(stateOfFilter(segment.filter));
                  setPanel(true);
                  toast(t("customers.segments.opened", { name: segmentTitle(segment) }));
                  load();
                },
              },
              segmentTitle(segment),
            ),
            " ",
            h(
              "span",
              { class: "badge" },
              segment.count === null ? t("customers.segments.uncounted") : t("customers.count", { count: segment.count }),
            ),
          ),
        ),
      );
    } catch (error) {
      showProblem(segments, error);
    }
  }

  async function loadTags() {
    try {
      const { items } = await api.get("/tags");
      fill(tagList, items.map((item) => h("option", { value: item.tag }, t("customers.count", { count: item.customers }))));
    } catch {
      // Suggestions only: the filter works without them.
    }
  }

  function listParams() {
    const params = { ...queryOf(state), limit: PAGE_SIZES.includes(Number(state.limit)) ? Number(state.limit) : PAGE_SIZE };
    // The API answers a sort together with `q` with 422: a search is ordered by what matched.
    if (state.sort && !state.q) params.sort = state.sort;
    return params;
  }

  function firstRows(params) {
    return api.get("/customers", { ...params, limit: Math.min(params.limit, FIRST_ROWS) });
  }

  async function load() {
    if (!results.isConnected) return; // another screen is showing: its address is not ours
    const mine = ++generation;
    replaceQuery(Object.fromEntries(Object.entries(state).filter(([, v]) => v)));
    clearSelection();
    const params = listParams();
    const first = early || firstRows(params);
    early = null;
    try {
      // The rows are asked for first (the count is quick, but one request may wait for
      // another), drawn as soon as they come, the count when it does.
      const counting = api.get("/customers/count", queryOf(state)).catch(() => null);
      let page = await first;
      if (mine !== generation) return;
      rows = [...page.items];
      fill(results, ...renderPage(page));
      if (page.next_cursor && rows.length < params.limit) {
        // The rest of the page: the owner's page size is what a page holds, as before.
        const rest = await api.get("/customers", { ...params, limit: params.limit - rows.length, cursor: page.next_cursor });
        if (mine !== generation) return;
        const grid = results.querySelector("table.grid");
        if (grid) appendRows(grid, rest.items);
        else fill(results, ...renderPage(rest));
        rows.push(...rest.items);
        syncSelection();
        page = rest;
      }
      if (page.next_cursor && rows.length) results.append(moreButton(results.querySelector("table.grid"), page.next_cursor, params, mine));
      const counted = await counting;
      if (mine !== generation) return;
      if (counted) {
        total = counted.count;
        countLine.textContent = t("customers.count", { count: counted.count });
      } else {
        // Without the count the rows say only how many at least: said as such.
        total = page.next_cursor ? null : rows.length;
        countLine.textContent = page.next_cursor
          ? t("customers.count_at_least", { count: rows.length })
          : t("customers.count", { count: rows.length });
      }
      renderTaskbar();
    } catch (error) {
      if (mine !== generation) return;
      countLine.textContent = "";
      fill(results);
      const names = new Set((error.errors || []).map((e) => String(e.field).split(".").pop()));
      if (FILTERS.some((f) => names.has(f.name))) setPanel(true);
      showProblem(controls, error);
    }
  }

  function renderPage(page) {
    if (!page.items.length) return [note(t("customers.empty"))];
    const grid = table({
      caption: t("customers.caption"),
      columns: columns(),
      rows: page.items,
      sort: state.q ? null : page.sort,
      onSort: state.q
        ? null
        : (sort) => {
            state.sort = sort;
            load();
          },
      rowAttrs: (c) => ({ dataset: { id: c.id } }),
    });
    return [grid];
  }

  /** Appends rows to the list's table; the first of them, for focus after "Load more". */
  function appendRows(grid, items) {
    if (!items.length) return null;
    const extra = table({ columns: columns(false), rows: items, rowAttrs: (c) => ({ dataset: { id: c.id } }) });
    const firstNew = extra.tBodies[0].rows[0];
    grid.tBodies[0].append(...extra.tBodies[0].rows);
    return firstNew;
  }

  function moreButton(grid, cursor, params, mine) {
    const button = h("button", { type: "button", class: "more" }, t("common.more"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const next = await api.get("/customers", { ...params, cursor });
        if (mine !== generation) return;
        rows.push(...next.items);
        const firstNew = appendRows(grid, next.items);
        syncSelection();
        firstNew?.querySelector("a")?.focus();
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

  // Selection
  const pageBox = h("input", { type: "checkbox", "aria-label": t("customers.select.page") });
  pageBox.addEventListener("change", () => {
    for (const customer of rows) {
      if (pageBox.checked) selection.ids.set(customer.id, customer);
      else selection.ids.delete(customer.id);
    }
    selection.allMatching = false;
    syncSelection();
  });

  // Rows added by "load more" are built without a header: the page's box stays in the first.
  function columns(withPageBox = true) {
    return [
      { key: "select", label: withPageBox ? pageBox : "", render: (c) => rowBox(c) },
      { key: "name", label: t("customers.col.name"), sort: "name", render: (c) => h("a", { href: `#/customers/${encodeURIComponent(c.id)}` }, fullName(c)) },
      { key: "email", label: t("customers.col.email") },
      { key: "orders_count", label: t("customers.col.orders"), sort: "orders_count", numeric: true, render: (c) => number(c.orders_count) },
      { key: "total_spent", label: t("customers.col.spent"), sort: "total_spent", numeric: true, render: (c) => money(c.total_spent, c.currency) },
      { key: "last_order_at", label: t("customers.col.last_order"), sort: "last_order_at", render: (c) => date(c.last_order_at) },
      { key: "created_at", label: t("customers.col.created"), sort: "created_at", render: (c) => date(c.created_at) },
      { key: "favorite", label: t("customers.col.favorite"), render: (c) => heart(c) },
    ];
  }

  function rowBox(customer) {
    const box = h("input", {
      type: "checkbox",
      class: "row-select",
      "aria-label": t("customers.select.one", { name: fullName(customer) }),
      checked: selection.ids.has(customer.id) || selection.allMatching,
      dataset: { id: customer.id },
    });
    box.addEventListener("change", () => {
      if (box.checked) selection.ids.set(customer.id, customer);
      else selection.ids.delete(customer.id);
      selection.allMatching = false;
      syncSelection();
    });
    return box;
  }

  function heart(customer) {
    const button = h(
      "button",
      {
        type: "button",
        class: "heart",
        "aria-pressed": String(Boolean(customer.favorite)),
        "aria-label": t("customers.favorite", { name: fullName(customer) }),
      },
      h("span", { "aria-hidden": "true" }, customer.favorite ? "♥" : "♡"),
    );
    button.addEventListener("click", async () => {
      if (button.disabled) return;
      button.disabled = true;
      try {
        const current = rows.find((c) => c.id === customer.id) || customer;
        const updated = await api.patch(
          `/customers/${encodeURIComponent(customer.id)}`,
          { favorite: !current.favorite },
          { "If-Match": `"${current.version}"` },
        );
        Object.assign(current, updated);
        button.setAttribute("aria-pressed", String(Boolean(updated.favorite)));
        button.firstChild.textContent = updated.favorite ? "♥" : "♡";
        toast(t(updated.favorite ? "customers.favorite.added" : "customers.favorite.removed", { name: fullName(updated) }));
      } catch (error) {
        showProblem(results, error);
        if (error instanceof api.ApiProblem && error.status === 412) {
          // Someone changed the customer meanwhile: take their version so a second click works.
          const fresh = await api.get(`/customers/${encodeURIComponent(customer.id)}`).catch(() => null);
          if (fresh) Object.assign(rows.find((c) => c.id === customer.id) || customer, fresh);
        }
      } finally {
        button.disabled = false;
        button.focus();
      }
    });
    return button;
  }

  function clearSelection() {
    selection.ids.clear();
    selection.allMatching = false;
    syncSelection();
  }

  function selectedCount() {
    return selection.allMatching ? total ?? selection.ids.size : selection.ids.size;
  }

  function syncSelection() {
    for (const box of results.querySelectorAll("input.row-select")) {
      box.checked = selection.allMatching || selection.ids.has(box.dataset.id);
    }
    const onPage = rows.filter((c) => selection.ids.has(c.id)).length;
    pageBox.checked = rows.length > 0 && (selection.allMatching || onPage === rows.length);
    pageBox.indeterminate = !pageBox.checked && onPage > 0;
    renderTaskbar();
  }

  // The task bar: what is selected and what can be done with it.
  const tagField = field({ label: t("customers.bulk.tag"), name: "tags", attrs: { list: tagList.id, autocomplete: "off" } });
  const selectedText = h("p", { class: "selected", "aria-live": "polite" });
  const allMatchingButton = h("button", { type: "button" });
  allMatchingButton.addEventListener("click", () => {
    selection.allMatching = true;
    syncSelection();
    selectedText.focus();
  });
  const clearButton = h("button", { type: "button", onclick: () => { clearSelection(); search.focus(); } }, t("customers.select.clear"));
  const bulkButtons = [
    bulkButton("customers.bulk.add_tags", () => withTags("add_tags")),
    bulkButton("customers.bulk.remove_tags", () => withTags("remove_tags")),
    bulkButton("customers.bulk.favorite", () => runBulk({ action: "favorite" })),
    bulkButton("customers.bulk.unfavorite", () => runBulk({ action: "unfavorite" })),
    bulkButton("customers.bulk.subscribe", () => runBulk({ action: "subscribe", channel: "email" })),
    bulkButton("customers.bulk.unsubscribe", () => runBulk({ action: "unsubscribe", channel: "email" })),
    bulkButton("customers.bulk.delete", async () => {
      const sure = await confirmDialog(t("customers.bulk.delete_confirm", { count: selectedCount() }), t("customers.bulk.delete"));
      if (sure) await runBulk({ action: "delete" });
    }, "danger"),
    h("button", { type: "button", onclick: () => openExport(selectionTarget(), { work, returnFocus: exportButton }) }, t("customers.bulk.export")),
  ];
  fill(
    taskbar,
    h("div", { class: "taskbar-row" }, selectedText, allMatchingButton, clearButton),
    h("div", { class: "taskbar-row" }, tagField, ...bulkButtons),
  );
  selectedText.setAttribute("tabindex", "-1");

  function bulkButton(key, run, kind = "") {
    const button = h("button", { type: "button", class: kind }, t(key));
    button.addEventListener("click", async () => {
      if (button.disabled) return;
      button.disabled = true;
      try {
        await run();
      } catch (error) {
        showProblem(taskbar, error);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  function renderTaskbar() {
    const count = selectedCount();
    taskbar.hidden = count === 0;
    selectedText.textContent = selection.allMatching
      ? t("customers.select.all_matching_done", { count })
      : t("customers.select.count", { count });
    const pageFull = rows.length > 0 && rows.every((c) => selection.ids.has(c.id));
    const more = total !== null && total > selection.ids.size;
    allMatchingButton.hidden = selection.allMatching || !pageFull || !more;
    allMatchingButton.textContent = t("customers.select.all_matching", { count: total ?? 0 });
  }

  function selectionTarget() {
    if (selection.allMatching) return { filter: filterBody(state) };
    return { ids: [...selection.ids.keys()] };
  }

  async function withTags(action) {
    clearProblems(taskbar);
    const tags = splitList(taskbar.querySelector("[name='tags']").value);
    if (!tags.length) {
      const input = taskbar.querySelector("[name='tags']");
      const slot = document.getElementById(`${input.id}-error`);
      input.setAttribute("aria-invalid", "true");
      slot.textContent = t("customers.bulk.tag_needed");
      slot.hidden = false;
      input.focus();
      return;
    }
    await runBulk({ action, tags });
  }

  async function runBulk(request) {
    clearProblems(taskbar);
    const body = { ...request, target: selectionTarget() };
    const answer = await api.request("POST", "/customers/bulk", {
      body,
      headers: { "Idempotency-Key": api.idempotencyKey() },
    });
    if (answer.status === 202) {
      await followJob(answer.data);
    } else {
      const { counts } = answer.data;
      announce(t("customers.bulk.done", { updated: counts.updated, unchanged: counts.unchanged, failed: counts.not_found + counts.refused }));
    }
    if (request.action.endsWith("tags")) taskbar.querySelector("[name='tags']").value = "";
    await load();
    countLine.focus(); // the task bar hides with the selection gone
    loadTags();
    loadSegments();
  }

  async function followJob(job) {
    const bar = progress(t("customers.job.progress"));
    const line = h("p", {}, t("customers.job.running"));
    const box = h("section", { class: "panel job", "aria-label": t("customers.job.title") }, line, bar);
    work.prepend(box);
    for (;;) {
      bar.set(job.processed, job.total ?? Math.max(job.processed, 1));
      if (job.status === "succeeded" || job.status === "failed") break;
      await sleep(POLL_MS);
      if (!box.isConnected) return; // the owner left the screen: the job goes on without us
      job = await api.get(`/jobs/${encodeURIComponent(job.id)}`);
    }
    bar.set(job.processed, job.total ?? job.processed);
    line.textContent =
      job.status === "succeeded"
        ? t("customers.job.succeeded", { updated: job.succeeded, unchanged: job.skipped, failed: job.failed })
        : t("customers.job.failed", { reason: job.error || "" });
    if (job.status === "failed") box.classList.add("problem");
    announce(line.textContent);
  }

  function announce(text) {
    toast(text);
  }

  // Exports: the e-mails only, or chosen columns, of the selection or of the whole list.
  exportButton.addEventListener("click", () => {
    const filter = filterBody(state);
    openExport(Object.keys(filter).length ? { filter } : {}, { work, returnFocus: exportButton });
  });

  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value.trim();
      if (!state.q) delete state.q;
      load();
    }, SEARCH_DELAY_MS);
  });
  if (currentRoute().path === "/customers") {
    // The rows first: locally one request runs at a time, and the segments' counts read more.
    await load();
    loadSegments();
    loadTags();
  }
}
