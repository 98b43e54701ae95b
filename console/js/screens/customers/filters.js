// The list's filters: the filters of GET /customers the panel offers, and how their values
// travel in the address, in a query string and in a JSON body.
import { t } from "../../i18n.js";
import { field } from "../../ui.js";

const CONSENT = ["", "subscribed", "unsubscribed", "pending", "never_asked"];

// The filters of GET /customers the panel offers, grouped as an owner thinks of them. `kind`
// says how a value travels in a JSON body (segments, bulk actions, exports): the address and
// the query string carry every value as text.
export const GROUPS = [
  ["money", [
    { name: "spent_min", type: "number", kind: "decimal", attrs: { min: 0, step: "any" } },
    { name: "spent_max", type: "number", kind: "decimal", attrs: { min: 0, step: "any" } },
    { name: "orders_min", type: "number", kind: "integer", attrs: { min: 0, step: 1 } },
    { name: "orders_max", type: "number", kind: "integer", attrs: { min: 0, step: 1 } },
    { name: "rating_min", type: "number", kind: "decimal", attrs: { min: 1, max: 5, step: "any" } },
  ]],
  ["activity", [
    { name: "last_order_after", type: "date" },
    { name: "last_order_before", type: "date" },
    { name: "never_ordered", kind: "boolean", options: ["", "true", "false"] },
    { name: "status", options: ["", "active", "inactive"] },
    { name: "last_seen_from", type: "date" },
    { name: "last_seen_to", type: "date" },
  ]],
  ["tags", [
    { name: "tag", kind: "list" },
    { name: "tag_mode", options: ["any", "all"] },
  ]],
  ["consent", [
    { name: "email_consent", options: CONSENT },
    { name: "sms_consent", options: CONSENT },
  ]],
  ["profile", [
    { name: "favorite", kind: "boolean", options: ["", "true", "false"] },
    { name: "country", attrs: { maxlength: 2, autocomplete: "off" } },
    { name: "city", attrs: { maxlength: 100, autocomplete: "off" } },
    { name: "created_from", type: "date" },
    { name: "created_to", type: "date" },
  ]],
];
export const FILTERS = GROUPS.flatMap(([, filters]) => filters);
export const STATE_KEYS = ["q", "sort", "limit", ...FILTERS.map((f) => f.name)];

/** The state's filters for a query string (GET /customers, /customers/count). */
export function queryOf(state) {
  const query = {};
  for (const filter of FILTERS) {
    const value = state[filter.name];
    if (!value) continue;
    query[filter.name] = filter.kind === "list" ? splitList(value) : value;
  }
  if (!query.tag) delete query.tag_mode;
  if (state.q) query.q = state.q;
  return query;
}

/** The state's filters as a JSON filter (segments, bulk actions, exports), values typed. */
export function filterBody(state) {
  const body = {};
  for (const [name, value] of Object.entries(queryOf(state))) {
    const filter = FILTERS.find((f) => f.name === name);
    if (filter?.kind === "integer") body[name] = Number(value);
    else if (filter?.kind === "boolean") body[name] = value === "true";
    else body[name] = value;
  }
  return body;
}

/** A segment's filter back into the panel's text values. */
export function stateOfFilter(filter) {
  const state = {};
  for (const key of STATE_KEYS) {
    const value = filter?.[key];
    if (value === null || value === undefined || value === "") continue;
    state[key] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  if (!state.tag) delete state.tag_mode;
  return state;
}

export function splitList(text) {
  return text.split(",").map((part) => part.trim()).filter(Boolean);
}

/** The panel's labelled control for one filter (its `name` is the API's, so a refusal lands next to it). */
export function filterField(filter, state, tagListId) {
  const label = t(`customers.filter.${filter.name}`);
  const value = state[filter.name] || (filter.name === "tag_mode" ? "any" : "");
  if (filter.options) {
    return field({
      label,
      name: filter.name,
      value,
      options: filter.options.map((option) => [option, t(option ? `customers.filter.${filter.name}.${option}` : "customers.filter.any")]),
    });
  }
  const attrs = { ...(filter.attrs || {}) };
  if (filter.name === "tag") attrs.list = tagListId;
  return field({
    label,
    name: filter.name,
    type: filter.type || "text",
    value: filter.type === "date" ? value.slice(0, 10) : value,
    hint: filter.name === "tag" ? t("customers.filter.tag.hint") : filter.name === "country" ? t("customers.filter.country.hint") : null,
    attrs,
  });
}
