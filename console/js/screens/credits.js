// The credits wallet (seed 000's "Carteira de Créditos"): the store's totals, the wallets with the
// seed's filters (active credit, referrers, bonus available, expiring soon or this month), sorts,
// the spreadsheet export, and the refer-a-friend referrals waiting for the owner's review.
import * as api from "../api.js";
import { h, fill } from "../dom.js";
import { date, dateTime, lang, money, number, t } from "../i18n.js";
import { currentRoute, replaceQuery } from "../router.js";
import { action, field, heading, note, showProblem, table, toast } from "../ui.js";

export const MESSAGES = ["credits"];
const FILTERS = ["all", "active", "referrers", "bonus", "expiring_soon", "expiring_month"];
const SOON_DAYS = 7;
const REVIEW = ["flagged", "pending", "qualified", "rewarded", "voided"];
const PAGE = 50;
const REVIEW_PAGE = 20;

/** The listing's query for one of the seed's filters, dated from now in the owner's time zone. */
export function filterQuery(filter, now = new Date()) {
  switch (filter) {
    case "active":
      return { has_active_credit: true };
    case "referrers":
      return { referrer: true };
    case "bonus":
      return { has_bonus: true };
    case "expiring_soon":
      return { expiring_before: new Date(now.getTime() + SOON_DAYS * 86_400_000).toISOString() };
    case "expiring_month":
      return { expiring_before: new Date(now.getFullYear(), now.getMonth() + 1, 1).toISOString() };
    default:
      return {};
  }
}

export async function render(main, { query }) {
  const state = {
    filter: FILTERS.includes(query.get("filter")) ? query.get("filter") : "all",
    sort: query.get("sort") || "",
    review: REVIEW.includes(query.get("review")) ? query.get("review") : "flagged",
  };
  heading(main, t("credits.title"));
  const summary = h("section", { "aria-labelledby": "credits-summary-title" });
  const controls = h("form", { class: "panel", role: "search", "aria-label": t("credits.filters") });
  const totals = h("p", { class: "note", "aria-live": "polite", id: "wallet-totals" });
  const wallets = h("div", { id: "wallets" });
  const exportArea = h("div", { class: "actions" });
  const referrals = h("section", { "aria-labelledby": "credits-referrals-title" });
  main.append(
    summary,
    h("h2", {}, t("credits.wallets")),
    controls,
    totals,
    exportArea,
    wallets,
    referrals,
  );

  const filterField = field({
    label: t("credits.filter"),
    name: "filter",
    value: state.filter,
    options: FILTERS.map((name) => [name, t(`credits.filter.${name}`)]),
    attrs: {
      onchange: (event) => {
        state.filter = event.target.value;
        state.sort = "";
        loadWallets();
      },
    },
  });
  fill(controls, filterField);
  controls.addEventListener("submit", (event) => event.preventDefault());

  const format = h("select", { id: "credits-export-format", name: "format" }, [
    h("option", { value: "xlsx" }, t("credits.format.xlsx")),
    h("option", { value: "csv" }, t("credits.format.csv")),
  ]);
  const exported = h("span", { class: "note", "aria-live": "polite" });
  exportArea.append(
    h("label", { for: "credits-export-format" }, t("credits.export.format")),
    format,
    action(
      t("credits.export"),
      async () => {
        const job = await api.post("/exports", { kind: "wallets", format: format.value, language: lang() });
        fill(exported, t("credits.export.started"), " ", h("a", { href: `#/exports?id=${encodeURIComponent(job.id)}` }, t("credits.export.follow")));
        exported.querySelector("a").focus();
      },
      { where: exportArea },
    ),
    exported,
  );

  async function loadSummary() {
    try {
      const s = await api.get("/credits/summary");
      fill(
        summary,
        h("h2", { id: "credits-summary-title" }, t("credits.summary")),
        h(
          "dl",
          { class: "facts panel" },
          h("dt", {}, t("credits.summary.outstanding")),
          h("dd", {}, money(s.outstanding, s.currency)),
          h("dt", {}, t("credits.summary.wallets")),
          h("dd", {}, number(s.wallets)),
          h("dt", {}, t("credits.summary.with_credit")),
          h("dd", {}, number(s.wallets_with_credit)),
          h("dt", {}, t("credits.summary.with_bonus")),
          h("dd", {}, number(s.wallets_with_bonus)),
          h("dt", {}, t("credits.summary.bonus")),
          h("dd", {}, money(s.bonus, s.currency)),
          h("dt", {}, t("credits.summary.cashback")),
          h("dd", {}, money(s.cashback, s.currency)),
          h("dt", {}, t("credits.summary.next_expiry")),
          h("dd", {}, s.next_expiry ? dateTime(s.next_expiry) : t("credits.none")),
        ),
      );
    } catch (error) {
      showProblem(summary, error);
    }
  }

  let generation = 0;
  async function loadWallets() {
    const mine = ++generation;
    // Defaults stay out of the address, so a bookmark holds only what the owner chose.
    const chosen = Object.entries(state).filter(([name, value]) => value && !(name === "filter" && value === "all") && !(name === "review" && value === "flagged"));
    replaceQuery(Object.fromEntries(chosen));
    const params = { ...filterQuery(state.filter), sort: state.sort || undefined, limit: PAGE };
    try {
      const page = await api.get("/wallets", params);
      if (mine !== generation) return;
      drawTotals(page);
      fill(wallets, ...drawWallets(page, params, mine));
    } catch (error) {
      if (mine === generation) showProblem(controls, error);
    }
  }

  function drawTotals(page) {
    const currency = page.items[0]?.currency;
    // A null total is one no counter can give for this filter: saying 0 would be a lie.
    const amount = (value) => (value === null ? t("credits.total.unavailable") : money(value, currency || undefined));
    fill(
      totals,
      t("credits.total.count", { count: page.count === null ? "—" : number(page.count) }),
      page.count === null ? ` (${t("credits.total.unavailable")})` : "",
      " · ",
      t("credits.total.outstanding", { amount: amount(page.outstanding) }),
      " · ",
      t("credits.total.cashback", { amount: amount(page.cashback) }),
    );
  }

  function drawWallets(page, params, mine) {
    if (!page.items.length) return [note(t("credits.wallets.empty"))];
    const grid = table({
      caption: t("credits.wallets.caption", { filter: t(`credits.filter.${state.filter}`) }),
      columns: walletColumns(),
      rows: page.items,
      sort: page.sort,
      onSort: (sort) => {
        state.sort = sort === "-next_expiry" || sort === "-customer_id" ? sort.slice(1) : sort; // the API sorts those one way
        loadWallets();
      },
    });
    let cursor = page.next_cursor;
    const more = cursor ? h("button", { type: "button" }, t("common.more")) : null;
    more?.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const next = await api.get("/wallets", { ...params, sort: page.sort, cursor });
        if (mine !== generation) return;
        grid.tBodies[0].append(...table({ columns: walletColumns(), rows: next.items }).tBodies[0].rows);
        cursor = next.next_cursor;
        if (cursor) more.disabled = false;
        else more.remove();
      } catch (error) {
        more.disabled = false;
        showProblem(wallets, error);
      }
    });
    return [grid, more];
  }

  async function loadReferrals() {
    const picker = field({
      label: t("credits.referrals.status"),
      name: "status",
      value: state.review,
      options: REVIEW.map((name) => [name, t(`credits.referral.status.${name}`)]),
      attrs: {
        onchange: (event) => {
          state.review = event.target.value;
          replaceQuery(Object.fromEntries(Object.entries(state).filter(([, v]) => v)));
          loadReferrals().then(() => referrals.querySelector("select[name=status]")?.focus());
        },
      },
    });
    const body = h("div", {});
    fill(referrals, h("h2", { id: "credits-referrals-title" }, t("credits.referrals")), h("p", { class: "note" }, t("credits.referrals.intro")), picker, body);
    try {
      const page = await api.get("/referrals", { status: state.review, limit: REVIEW_PAGE });
      if (!page.items.length) {
        fill(body, note(t("credits.referrals.empty")));
        return;
      }
      // Judging a look-alike needs both people's names and e-mails, not their ids.
      const names = await people(page.items.flatMap((r) => [r.referrer_id, r.friend_id]));
      fill(
        body,
        table({
          caption: t("credits.referrals.caption", { status: t(`credits.referral.status.${state.review}`) }),
          columns: [
            { key: "created_at", label: t("credits.col.signed_up"), render: (r) => date(r.created_at) },
            { key: "referrer_id", label: t("credits.col.referrer"), render: (r) => person(r.referrer_id, names) },
            { key: "friend_id", label: t("credits.col.friend"), render: (r) => person(r.friend_id, names) },
            { key: "code", label: t("credits.col.code") },
            { key: "reason", label: t("credits.col.reason"), render: (r) => reasonText(r.reason) },
            { key: "actions", label: t("credits.col.actions"), render: referralActions },
          ],
          rows: page.items,
          rowAttrs: (r) => ({ "data-referral": r.id }),
        }),
      );
    } catch (error) {
      showProblem(body, error);
    }
  }

  function referralActions(referral) {
    const cell = h("div", { class: "actions" });
    const after = async (verb, message) => {
      await api.post(`/referrals/${encodeURIComponent(referral.id)}/${verb}`);
      toast(message);
      await Promise.all([loadReferrals(), loadSummary(), loadWallets()]);
      referrals.querySelector("h2").setAttribute("tabindex", "-1");
      referrals.querySelector("h2").focus();
    };
    const who = referral.code;
    if (referral.status === "flagged") {
      const label = t("credits.referral.approve_code", { code: who });
      cell.append(action(t("credits.referral.approve"), () => after("approval", t("credits.referral.approved")), { where: cell, kind: "primary", attrs: { "aria-label": label } }));
    }
    if (["pending", "qualified", "flagged"].includes(referral.status)) {
      const label = t("credits.referral.void_code", { code: who });
      cell.append(action(t("credits.referral.void"), () => after("voiding", t("credits.referral.voided")), { where: cell, attrs: { "aria-label": label } }));
    }
    return cell;
  }

  if (currentRoute().path !== "/credits") return;
  await Promise.all([loadSummary(), loadWallets(), loadReferrals()]);
}

function customerLink(id) {
  return h("a", { href: `#/customers/${encodeURIComponent(id)}` }, id);
}

/** id -> the customer (or null when gone), one request per distinct id. */
async function people(ids) {
  const distinct = [...new Set(ids)];
  const found = await Promise.all(distinct.map((id) => api.get(`/customers/${encodeURIComponent(id)}`).catch(() => null)));
  return new Map(distinct.map((id, index) => [id, found[index]]));
}

function person(id, names) {
  const customer = names.get(id);
  if (!customer) return customerLink(id);
  const name = [customer.first_name, customer.last_name].filter(Boolean).join(" ") || id;
  return h("div", {}, h("a", { href: `#/customers/${encodeURIComponent(id)}` }, name), customer.email ? h("div", { class: "note" }, customer.email) : null);
}

function reasonText(reason) {
  const key = `credits.referral.reason.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
}

function walletColumns() {
  return [
    { key: "customer_id", label: t("credits.col.customer"), sort: "customer_id", render: (w) => customerLink(w.customer_id) },
    { key: "balance", label: t("credits.col.balance"), sort: "balance", numeric: true, render: (w) => money(w.balance, w.currency) },
    { key: "bonus", label: t("credits.col.bonus"), sort: "bonus", numeric: true, render: (w) => money(w.bonus, w.currency) },
    { key: "cashback", label: t("credits.col.cashback"), sort: "cashback", numeric: true, render: (w) => money(w.cashback, w.currency) },
    { key: "next_expiry", label: t("credits.col.next_expiry"), sort: "next_expiry", render: (w) => (w.next_expiry ? date(w.next_expiry) : "") },
  ];
}
