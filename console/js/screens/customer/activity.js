// The customer's orders (bookings and tickets too) and timeline, each over the API's cursor pages.
import * as api from "../../api.js";
import { h, fill } from "../../dom.js";
import { dateTime, money, number, t } from "../../i18n.js";
import { field, note, showProblem, table } from "../../ui.js";
import { labelOf, moreButton } from "./parts.js";

const PAGE = 10;
// The timeline's kinds, grouped the way an owner looks for them; the API takes several at once.
const KIND_GROUPS = {
  purchases: ["purchased", "order_cancelled", "order_refunded", "review_posted"],
  browsing: ["product_viewed", "added_to_cart", "removed_from_cart"],
  email: ["email_sent", "email_opened", "email_clicked", "message_sent", "message_replied"],
  profile: ["profile_changed", "tags_changed", "consent_changed"],
  credits: ["credit_granted", "credit_spent", "credit_expired", "credit_reverted", "credit_adjusted"],
};

export async function renderOrders(where, customerId) {
  const list = h("div");
  const kind = field({
    label: t("customer.orders.kind"),
    name: "kind",
    value: "",
    options: [["", t("customer.orders.kind.all")], ...["product", "booking", "ticket"].map((k) => [k, labelOf("customer.orders.kind", k)])],
  });
  kind.querySelector("select").addEventListener("change", () => load());
  fill(where, kind, list);

  async function load() {
    const chosen = kind.querySelector("select").value || undefined;
    const fetchPage = (cursor) => api.get(`/customers/${encodeURIComponent(customerId)}/orders`, { limit: PAGE, kind: chosen, cursor });
    try {
      const page = await fetchPage();
      if (!page.items.length) {
        fill(list, note(t("customer.orders.none")));
        return;
      }
      const grid = table({ caption: t("customer.orders.title"), columns: orderColumns(), rows: page.items });
      const addRows = (items) => grid.tBodies[0].append(...table({ columns: orderColumns(), rows: items }).tBodies[0].rows);
      fill(list, grid, page.next_cursor ? moreButton(page.next_cursor, fetchPage, addRows, (error) => showProblem(list, error)) : null);
    } catch (error) {
      fill(list);
      showProblem(list, error);
    }
  }
  await load();
}

function orderColumns() {
  return [
    { key: "order_id", label: t("customer.orders.col.order") },
    { key: "placed_at", label: t("customer.orders.col.placed"), render: (o) => dateTime(o.placed_at) },
    { key: "kind", label: t("customer.orders.col.kind"), render: (o) => labelOf("customer.orders.kind", o.kind || "product") },
    { key: "items", label: t("customer.orders.col.items"), render: (o) => orderItems(o) },
    { key: "status", label: t("customer.orders.col.status"), render: (o) => labelOf("customer.orders.status", o.status) },
    { key: "total", label: t("customer.orders.col.total"), numeric: true, render: (o) => money(o.total, o.currency) },
    { key: "refunded_total", label: t("customer.orders.col.refunded"), numeric: true, render: (o) => (Number(o.refunded_total) ? money(o.refunded_total, o.currency) : "") },
  ];
}

function orderItems(order) {
  if (order.booking) return [order.booking.service_name || order.booking.service_id, " · ", dateTime(order.booking.starts_at)].filter(Boolean);
  if (order.ticket) return [order.ticket.event_name || order.ticket.event_id, " · ", dateTime(order.ticket.event_at)].filter(Boolean);
  const items = order.items || [];
  return items.map((item) => `${number(item.quantity ?? 1)} × ${item.name || item.sku || item.product_id}`).join(", ");
}

export async function renderTimeline(where, customerId) {
  const list = h("div");
  const filter = field({
    label: t("customer.timeline.kind"),
    name: "kind",
    value: "",
    options: [["", t("customer.timeline.kind.all")], ...Object.keys(KIND_GROUPS).map((g) => [g, t(`customer.timeline.group.${g}`)])],
  });
  filter.querySelector("select").addEventListener("change", () => load());
  fill(where, filter, list);

  async function load() {
    const group = filter.querySelector("select").value;
    const kinds = group ? KIND_GROUPS[group] : undefined;
    const fetchPage = (cursor) => api.get(`/customers/${encodeURIComponent(customerId)}/timeline`, { kind: kinds, limit: PAGE * 2, cursor });
    try {
      const page = await fetchPage();
      if (!page.items.length) {
        fill(list, note(t("customer.timeline.none")));
        return;
      }
      const items = h("ol", { class: "timeline", "aria-label": t("customer.timeline.title") });
      const add = (entries) => items.append(...entries.map(entry));
      add(page.items);
      fill(list, items, page.next_cursor ? moreButton(page.next_cursor, fetchPage, add, (error) => showProblem(list, error)) : null);
    } catch (error) {
      fill(list);
      showProblem(list, error);
    }
  }
  await load();
}

function entry(item) {
  const said = summary(item);
  return h(
    "li",
    { dataset: { kind: item.kind } },
    h("time", { datetime: item.at }, dateTime(item.at)),
    " ",
    h("strong", {}, labelOf("customer.timeline.kind", item.kind)),
    said ? [" · ", said] : null,
  );
}

// A line of what the entry's data says, in the owner's words; the API names fields, never
// personal values, in profile changes.
function summary(item) {
  const d = item.data || {};
  const parts = [];
  if (d.name) parts.push(d.name);
  if (d.quantity) parts.push(`× ${number(d.quantity)}`);
  for (const key of ["total", "amount", "price"]) {
    if (d[key] !== undefined && d[key] !== null) parts.push(money(d[key], d.currency));
  }
  if (d.order_id) parts.push(t("customer.timeline.order", { id: d.order_id }));
  if (d.rating) parts.push("★".repeat(Number(d.rating)));
  if (item.kind === "consent_changed") {
    parts.push(`${t(`customer.consent.${d.channel}`)}: ${labelOf("customer.consent.state", d.old_state)} → ${labelOf("customer.consent.state", d.new_state)}`);
  }
  if (item.kind === "tags_changed") {
    parts.push([...(d.added || []).map((tag) => `+${tag}`), ...(d.removed || []).map((tag) => `−${tag}`)].join(" "));
  }
  if (Array.isArray(d.fields)) parts.push(d.fields.map((name) => labelOf("customer.field", name)).join(", "));
  return parts.filter(Boolean).join(" · ");
}

