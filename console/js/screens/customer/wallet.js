// The customer's credits: balance per currency, lots with their expiry, the ledger (paged),
// cashback on its way, and the coupons made for this customer.
import * as api from "../../api.js";
import { h, fill } from "../../dom.js";
import { date, dateTime, money, number, t } from "../../i18n.js";
import { note, showProblem, table } from "../../ui.js";
import { labelOf, moreButton } from "./parts.js";

const PAGE = 20;

export async function renderWallet(where, customerId) {
  const path = `/wallets/${encodeURIComponent(customerId)}`;
  let wallet;
  let cashback;
  try {
    [wallet, cashback] = await Promise.all([api.get(path, { limit: PAGE }), api.get(`${path}/cashback`).catch(() => null)]);
  } catch (error) {
    if (error.status === 404) {
      fill(where, note(t("customer.wallet.none")));
      return;
    }
    fill(where);
    showProblem(where, error);
    return;
  }
  const balances = wallet.balances && wallet.balances.length ? wallet.balances : [{ currency: wallet.currency, balance: wallet.balance }];
  const summary = h(
    "dl",
    { class: "facts panel" },
    balances.map((b) => [
      h("dt", {}, t("customer.wallet.balance", { currency: b.currency })),
      h(
        "dd",
        {},
        h("strong", {}, money(b.balance, b.currency)),
        b.next_expiry ? ` · ${t("customer.wallet.next_expiry", { when: date(b.next_expiry) })}` : "",
      ),
    ]),
    wallet.status === "closed" ? [h("dt", {}, t("customer.wallet.status")), h("dd", {}, t("customer.wallet.closed"))] : null,
    cashback && Number(cashback.pending) ? [h("dt", {}, t("customer.wallet.cashback_pending")), h("dd", {}, money(cashback.pending, wallet.currency))] : null,
  );
  const lots = wallet.lots.length
    ? table({
        caption: t("customer.wallet.lots"),
        rows: wallet.lots,
        columns: [
          { key: "kind", label: t("customer.wallet.col.kind"), render: (l) => labelOf("customer.wallet.kind", l.kind) },
          { key: "created_at", label: t("customer.wallet.col.created"), render: (l) => date(l.created_at) },
          { key: "amount", label: t("customer.wallet.col.amount"), numeric: true, render: (l) => money(l.amount, l.currency) },
          { key: "remaining", label: t("customer.wallet.col.remaining"), numeric: true, render: (l) => money(l.remaining, l.currency) },
          {
            key: "expires_at",
            label: t("customer.wallet.col.expires"),
            render: (l) => (l.expired ? h("span", { class: "badge bad" }, t("customer.wallet.expired")) : l.expires_at ? date(l.expires_at) : t("customer.wallet.never")),
          },
          { key: "note", label: t("customer.wallet.col.note") },
        ],
      })
    : note(t("customer.wallet.no_lots"));
  const ledgerColumns = [
    { key: "at", label: t("customer.wallet.col.at"), render: (e) => dateTime(e.at) },
    { key: "type", label: t("customer.wallet.col.type"), render: (e) => labelOf("customer.wallet.type", e.type) },
    { key: "amount", label: t("customer.wallet.col.amount"), numeric: true, render: (e) => money(e.amount, e.currency) },
    { key: "balance_after", label: t("customer.wallet.col.balance_after"), numeric: true, render: (e) => money(e.balance_after, e.currency) },
    { key: "order_id", label: t("customer.wallet.col.order") },
    { key: "note", label: t("customer.wallet.col.note") },
  ];
  let ledger = note(t("customer.wallet.no_entries"));
  let more = null;
  if (wallet.entries.length) {
    ledger = table({ caption: t("customer.wallet.ledger"), rows: wallet.entries, columns: ledgerColumns });
    const grid = ledger;
    const fetchPage = (cursor) => api.get(path, { limit: PAGE, cursor });
    const addRows = (items) => grid.tBodies[0].append(...table({ columns: ledgerColumns, rows: items }).tBodies[0].rows);
    more = wallet.next_cursor ? moreButton(wallet.next_cursor, async (cursor) => {
      const next = await fetchPage(cursor);
      return { items: next.entries, next_cursor: next.next_cursor };
    }, addRows, (error) => showProblem(where, error)) : null;
  }
  const pending = cashback && cashback.items.length
    ? table({
        caption: t("customer.wallet.cashback"),
        rows: cashback.items,
        columns: [
          { key: "order_id", label: t("customer.wallet.col.order") },
          { key: "status", label: t("customer.wallet.col.status"), render: (c) => labelOf("customer.wallet.cashback_status", c.status) },
          { key: "amount", label: t("customer.wallet.col.amount"), numeric: true, render: (c) => money(c.amount, c.currency) },
          { key: "due_at", label: t("customer.wallet.col.due"), render: (c) => date(c.due_at) },
        ],
      })
    : null;
  fill(where, summary, lots, ledger, more, pending);
}

export async function renderCoupons(where, customerId) {
  try {
    const { items } = await api.get(`/customers/${encodeURIComponent(customerId)}/coupons`);
    if (!items.length) {
      fill(where, note(t("customer.coupons.none")));
      return;
    }
    fill(
      where,
      table({
        caption: t("customer.coupons.title"),
        rows: items,
        columns: [
          { key: "code", label: t("customer.coupons.col.code"), render: (c) => h("code", {}, c.code) },
          {
            key: "value",
            label: t("customer.coupons.col.value"),
            render: (c) => (c.kind === "percentage" ? `${number(c.percentage)} %` : money(c.amount, c.currency)),
          },
          { key: "minimum_order", label: t("customer.coupons.col.minimum"), render: (c) => (c.minimum_order ? money(c.minimum_order, c.currency) : "") },
          { key: "uses", label: t("customer.coupons.col.uses"), numeric: true, render: (c) => `${number(c.uses)} / ${number(c.usage_limit)}` },
          { key: "expires_at", label: t("customer.coupons.col.expires"), render: (c) => (c.expires_at ? date(c.expires_at) : t("customer.wallet.never")) },
        ],
      }),
    );
  } catch (error) {
    fill(where);
    showProblem(where, error);
  }
}
