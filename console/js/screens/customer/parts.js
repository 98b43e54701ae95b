// What the customer page's modules share: names, labels of the API's codes, sections.
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

export function fullName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || customer.email || customer.id;
}

/**
 * The owner's words for one of the API's codes (`customer.gender` + `female`); the API's own
 * text (or the code) where the bundle has none, e.g. a segment the store named itself.
 */
export function labelOf(prefix, code, fallback) {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? fallback ?? code : text;
}

/** A titled region of the page; fill `.body`. */
export function section(name, title) {
  const body = h("div", { class: "section-body" });
  const region = h("section", { id: `customer-${name}`, "aria-labelledby": `customer-${name}-title` }, h("h2", { id: `customer-${name}-title` }, title), body);
  region.body = body;
  return region;
}

/** A "load more" button over the API's cursor pages: `fetchPage(cursor)` -> {items, next_cursor}. */
export function moreButton(cursor, fetchPage, addItems, onProblem) {
  const button = h("button", { type: "button" }, t("common.more"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const next = await fetchPage(cursor);
      addItems(next.items);
      if (next.next_cursor) {
        cursor = next.next_cursor;
        button.disabled = false;
      } else {
        button.remove();
      }
    } catch (error) {
      button.disabled = false;
      onProblem(error);
    }
  });
  return button;
}
