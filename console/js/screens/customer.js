// The customer's page (seeds 001, 002, 003): the 360° profile, consent with its history, tags,
// segments, edit with the version read, delete, data export and erasure; orders, timeline,
// wallet, coupons and messages come from the modules under customer/.
import * as api from "../api.js";
import { h, fill } from "../dom.js";
import { date, dateTime, money, number, t } from "../i18n.js";
import { navigate } from "../router.js";
import { action, clearProblems, confirmDialog, field, heading, note, showProblem, toast } from "../ui.js";
import { renderOrders, renderTimeline } from "./customer/activity.js";
import { renderMessages } from "./customer/messages.js";
import { fullName, labelOf, section } from "./customer/parts.js";
import { renderCoupons, renderWallet } from "./customer/wallet.js";

export const MESSAGES = ["customer"];

const GENDERS = ["female", "male", "non_binary", "other", "undisclosed"];
const CONSENT_STATES = ["subscribed", "unsubscribed", "pending"];
// The consent history comes from the timeline, written from the table's stream a moment after
// the change: the page asks again a few times rather than showing a history without it.
const HISTORY_TRIES = 10;
const HISTORY_WAIT_MS = 500;
const PRIVACY_TRIES = 20;
const PRIVACY_WAIT_MS = 1000;

export async function render(main, { params }) {
  const id = params[0];
  const page = { id, customer: null };
  let loaded;
  try {
    loaded = await api.request("GET", `/customers/${encodeURIComponent(id)}`);
  } catch (error) {
    heading(main, t("customer.missing"));
    const area = h("div");
    main.append(area, h("p", {}, h("a", { href: "#/customers" }, t("customer.back"))));
    showProblem(area, error);
    return;
  }
  page.customer = loaded.data;

  const head = h("div");
  const banner = h("div", { id: "customer-banner" });
  const overview = h("div", { id: "customer-overview" });
  const consent = section("consent", t("customer.consent.title"));
  const privacy = section("privacy", t("customer.privacy.title"));
  const orders = section("orders", t("customer.orders.title"));
  const timeline = section("timeline", t("customer.timeline.title"));
  const wallet = section("wallet", t("customer.wallet.title"));
  const coupons = section("coupons", t("customer.coupons.title"));
  const messages = section("messages", t("customer.messages.title"));
  main.append(head, banner, overview, consent, messages, orders, timeline, wallet, coupons, privacy);

  function version() {
    return `"${page.customer.version}"`;
  }

  // Every write of the profile names the version the page shows: a change made meanwhile by
  // someone else is a 412, shown with a way to reload, never overwritten.
  async function patch(body, where) {
    try {
      const answer = await api.request("PATCH", `/customers/${encodeURIComponent(id)}`, {
        body,
        headers: { "If-Match": version() },
      });
      page.customer = answer.data;
      return true;
    } catch (error) {
      const shown = showProblem(where, error);
      if (error.status === 412 || error.status === 409) offerReload(shown);
      return false;
    }
  }

  function offerReload(shown) {
    if (!shown) return;
    shown.append(
      h("p", {}, t("customer.conflict.help")),
      h("button", { type: "button", class: "primary", onclick: () => reload() }, t("customer.conflict.reload")),
    );
  }

  async function reload() {
    const answer = await api.request("GET", `/customers/${encodeURIComponent(id)}`);
    page.customer = answer.data;
    clearProblems(banner);
    drawHead();
    drawOverview();
    drawConsent();
    toast(t("customer.reloaded"));
    head.querySelector("h1").focus();
  }

  function drawHead() {
    const customer = page.customer;
    const favourite = h(
      "button",
      {
        type: "button",
        class: "favourite",
        "aria-pressed": customer.favorite ? "true" : "false",
        onclick: async () => {
          favourite.disabled = true;
          if (await patch({ favorite: !page.customer.favorite }, banner)) {
            drawHead();
            head.querySelector(".favourite").focus();
          } else {
            favourite.disabled = false;
          }
        },
      },
      h("span", { "aria-hidden": "true" }, customer.favorite ? "♥ " : "♡ "),
      t("customer.favourite"),
    );
    heading(
      head,
      fullName(customer),
      favourite,
      h("button", { type: "button", class: "primary", onclick: () => drawEdit() }, t("customer.edit")),
      action(t("customer.delete"), () => remove(), { where: banner, kind: "danger" }),
    );
    const h1 = head.querySelector("h1");
    h1.setAttribute("tabindex", "-1");
  }

  async function remove() {
    const sure = await confirmDialog(t("customer.delete.confirm", { name: fullName(page.customer) }), t("customer.delete"));
    if (!sure) return;
    try {
      await api.request("DELETE", `/customers/${encodeURIComponent(id)}`, { headers: { "If-Match": version() } });
    } catch (error) {
      offerReload(showProblem(banner, error));
      return;
    }
    toast(t("customer.deleted", { name: fullName(page.customer) }));
    navigate("/customers");
  }

  function drawOverview() {
    const c = page.customer;
    const facts = (title, rows) =>
      h(
        "section",
        { class: "panel", "aria-labelledby": `card-${title}` },
        h("h2", { id: `card-${title}` }, t(`customer.card.${title}`)),
        h(
          "dl",
          { class: "facts" },
          rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value === null || value === undefined || value === "" ? t("customer.unknown") : value)]),
        ),
      );
    const engagement = c.engagement || {};
    const social = c.social || {};
    fill(
      overview,
      h(
        "div",
        { class: "cards" },
        facts("contact", [
          ["customer.field.email", c.email],
          ["customer.field.phone", c.phone],
          ["customer.field.language", c.language],
        ]),
        facts("location", [
          ["customer.field.city", c.city],
          ["customer.field.region", c.region],
          ["customer.field.country", c.country],
        ]),
        facts("about", [
          ["customer.field.gender", c.gender ? labelOf("customer.gender", c.gender) : null],
          ["customer.field.birthday", date(c.birthday)],
          ["customer.field.status", labelOf("customer.status", c.status)],
          ["customer.field.notes", c.notes],
        ]),
        facts("purchases", [
          ["customer.field.orders_count", number(c.orders_count)],
          ["customer.field.total_spent", money(c.total_spent, c.currency)],
          ["customer.field.average_order_value", money(c.average_order_value, c.currency)],
          ["customer.field.first_order_at", date(c.first_order_at)],
          ["customer.field.last_order_at", date(c.last_order_at)],
          ["customer.field.rating", c.rating_count ? t("customer.rating", { average: c.rating_average, count: c.rating_count }) : null],
          ["customer.field.bookings", c.bookings ? number(c.bookings.upcoming) : null],
        ]),
        facts("engagement", [
          ["customer.field.loyalty_stamps", number(engagement.loyalty_stamps ?? 0)],
          ["customer.field.comments", number(engagement.comments ?? 0)],
          ["customer.field.shares", number(engagement.shares ?? 0)],
          ["customer.field.push_notifications_received", number(engagement.push_notifications_received ?? 0)],
        ]),
        facts("social", [
          ["customer.field.facebook", social.facebook],
          ["customer.field.twitter", social.twitter],
          ["customer.field.google", social.google],
        ]),
        facts("device", [
          ["customer.field.last_device", c.last_device],
          ["customer.field.last_seen_at", dateTime(c.last_seen_at)],
          ["customer.field.last_ip", c.last_ip],
        ]),
        facts("system", [
          ["customer.field.id", h("code", {}, c.id)],
          ["customer.field.signed_up_at", dateTime(c.signed_up_at)],
          ["customer.field.created_at", dateTime(c.created_at)],
          ["customer.field.updated_at", dateTime(c.updated_at)],
          ["customer.field.version", number(c.version)],
        ]),
        tagsCard(),
        segmentsCard(),
      ),
    );
  }

  function segmentsCard() {
    const segments = page.customer.segments || [];
    return h(
      "section",
      { class: "panel", "aria-labelledby": "card-segments" },
      h("h2", { id: "card-segments" }, t("customer.card.segments")),
      segments.length
        ? h("ul", { class: "chips", "aria-label": t("customer.card.segments") }, segments.map((s) => h("li", { class: "badge" }, labelOf("customer.segment", s.id, s.name))))
        : note(t("customer.segments.none")),
    );
  }

  function tagsCard() {
    const card = h("section", { class: "panel", "aria-labelledby": "card-tags" });
    const input = h("input", { id: "customer-tag-new", name: "tags", type: "text", autocomplete: "off", maxlength: 64 });
    const form = h(
      "form",
      {
        class: "actions",
        onsubmit: async (event) => {
          event.preventDefault();
          const tag = input.value.trim();
          if (!tag) return;
          if (page.customer.tags.includes(tag)) {
            input.value = "";
            return;
          }
          if (await patch({ tags: [...page.customer.tags, tag] }, card)) {
            toast(t("customer.tags.added", { tag }));
            drawOverview();
            overview.querySelector("#customer-tag-new").focus();
          }
        },
      },
      h("div", { class: "field" }, h("label", { for: "customer-tag-new" }, t("customer.tags.new")), input, h("p", { id: "customer-tag-new-error", class: "field-error", hidden: true })),
      h("button", { type: "submit" }, t("customer.tags.add")),
    );
    input.setAttribute("aria-describedby", "customer-tag-new-error");
    const tags = page.customer.tags || [];
    return fill(
      card,
      h("h2", { id: "card-tags" }, t("customer.card.tags")),
      tags.length
        ? h(
            "ul",
            { class: "chips", "aria-label": t("customer.card.tags") },
            tags.map((tag) =>
              h(
                "li",
                {},
                h("span", { class: "badge" }, tag),
                " ",
                h(
                  "button",
                  {
                    type: "button",
                    class: "link",
                    "aria-label": t("customer.tags.remove", { tag }),
                    onclick: async () => {
                      if (await patch({ tags: page.customer.tags.filter((x) => x !== tag) }, card)) {
                        toast(t("customer.tags.removed", { tag }));
                        drawOverview();
                        overview.querySelector("#customer-tag-new").focus();
                      }
                    },
                  },
                  "✕",
                ),
              ),
            ),
          )
        : note(t("customer.tags.none")),
      form,
    );
  }

  function drawEdit() {
    const c = page.customer;
    const social = c.social || {};
    const form = h("form", { class: "panel", "aria-labelledby": "customer-edit-title", novalidate: true });
    const text = (name, type = "text", value = c[name]) => field({ label: t(`customer.field.${name}`), name, type, value });
    fill(
      form,
      h("h2", { id: "customer-edit-title" }, t("customer.edit.title")),
      h(
        "div",
        { class: "form-grid" },
        text("first_name"),
        text("last_name"),
        text("email", "email"),
        text("phone", "tel"),
        text("city"),
        text("region"),
        text("country"),
        field({
          label: t("customer.field.gender"),
          name: "gender",
          value: c.gender || "",
          options: [["", t("customer.unknown")], ...GENDERS.map((g) => [g, labelOf("customer.gender", g)])],
        }),
        text("birthday", "date"),
        text("language"),
        text("facebook", "text", social.facebook),
        text("twitter", "text", social.twitter),
        text("google", "text", social.google),
      ),
      field({ label: t("customer.field.notes"), name: "notes", type: "textarea", value: c.notes }),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary" }, t("common.save")),
        h("button", { type: "button", onclick: () => closeEdit() }, t("common.cancel")),
      ),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = changes(form, page.customer);
      if (!Object.keys(body).length) {
        closeEdit();
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const saved = await patch(body, form);
      button.disabled = false;
      if (saved) {
        toast(t("common.saved"));
        closeEdit();
      }
    });
    fill(overview, form);
    form.querySelector("input").focus();
  }

  function closeEdit() {
    drawHead();
    drawOverview();
    head.querySelector("h1").focus();
  }

  function drawConsent() {
    const c = page.customer;
    const history = h("div", { id: "consent-history" });
    const channels = ["email", "sms"].map((channel) => {
      const current = c[`${channel}_consent`] || { state: "never_asked" };
      const form = h("form", { class: "panel consent", "aria-labelledby": `consent-${channel}` });
      const choice = field({
        label: t("customer.consent.new_state"),
        name: "state",
        value: current.state === "subscribed" ? "unsubscribed" : "subscribed",
        options: CONSENT_STATES.map((s) => [s, labelOf("customer.consent.state", s)]),
      });
      fill(
        form,
        h("h3", { id: `consent-${channel}` }, t(`customer.consent.${channel}`)),
        h(
          "p",
          {},
          h("span", { class: `badge ${current.state === "subscribed" ? "ok" : current.state === "unsubscribed" ? "bad" : ""}` }, labelOf("customer.consent.state", current.state)),
          current.updated_at ? ` ${t("customer.consent.since", { when: dateTime(current.updated_at), source: labelOf("customer.consent.source", current.source || "") })}` : "",
        ),
        choice,
        h("button", { type: "submit" }, t("customer.consent.change")),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const state = form.elements.state.value;
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          page.customer = await api.post(`/customers/${encodeURIComponent(id)}/consent`, { channel, state, source: "admin" });
          toast(t("customer.consent.changed"));
          drawConsent();
          drawHead();
          consent.querySelector(`#consent-${channel}`).setAttribute("tabindex", "-1");
          consent.querySelector(`#consent-${channel}`).focus();
          await loadHistory(consent.querySelector("#consent-history"), { channel, state });
        } catch (error) {
          button.disabled = false;
          showProblem(form, error);
        }
      });
      return form;
    });
    fill(consent.body, h("div", { class: "cards" }, channels), history);
    loadHistory(history);
  }

  async function loadHistory(where, expected) {
    for (let attempt = 0; attempt < HISTORY_TRIES; attempt += 1) {
      let page_;
      try {
        page_ = await api.get(`/customers/${encodeURIComponent(id)}/timeline`, { kind: "consent_changed", limit: 50 });
      } catch (error) {
        showProblem(where, error);
        return;
      }
      const items = page_.items;
      const arrived = !expected || items.some((i) => i.data.channel === expected.channel && i.data.new_state === expected.state);
      if (arrived || attempt === HISTORY_TRIES - 1) {
        fill(where, historyTable(items));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, HISTORY_WAIT_MS));
    }
  }

  function historyTable(items) {
    if (!items.length) return note(t("customer.consent.no_history"));
    const rows = items
      .map(
        (item) =>
          h(
            "tr",
            {},
            h("td", {}, dateTime(item.at)),
            h("td", {}, t(`customer.consent.${item.data.channel}`)),
            h("td", {}, labelOf("customer.consent.state", item.data.old_state)),
            h("td", {}, labelOf("customer.consent.state", item.data.new_state)),
            h("td", {}, item.data.source ? labelOf("customer.consent.source", item.data.source) : ""),
          ),
      );
    return h(
      "table",
      { class: "grid" },
      h("caption", {}, t("customer.consent.history")),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["when", "channel", "from", "to", "source"].map((col) => h("th", { scope: "col" }, t(`customer.consent.col.${col}`))),
        ),
      ),
      h("tbody", {}, rows),
    );
  }

  function drawPrivacy() {
    const status = h("div", { id: "privacy-status", "aria-live": "polite" });
    const format = field({
      label: t("customer.privacy.format"),
      name: "format",
      value: "json",
      options: [["json", "JSON"], ["xml", "XML"], ["html", "HTML"]],
    });
    const area = h("div", { class: "panel" });
    fill(
      area,
      h("p", {}, t("customer.privacy.export.help")),
      format,
      h(
        "div",
        { class: "actions" },
        action(
          t("customer.privacy.export"),
          async () => {
            const request = await api.post(`/customers/${encodeURIComponent(id)}/data-export`, { format: area.querySelector("[name=format]").value });
            await follow(request, status);
          },
          { where: area },
        ),
        action(
          t("customer.privacy.erase"),
          async () => {
            const sure = await confirmDialog(t("customer.privacy.erase.confirm", { name: fullName(page.customer) }), t("customer.privacy.erase"));
            if (!sure) return;
            const request = await api.post("/privacy/requests", { kind: "erasure", customer_id: id });
            await follow(request, status);
          },
          { where: area, kind: "danger" },
        ),
      ),
      status,
    );
    fill(privacy.body, area);
  }

  // A privacy request runs across every service: the page shows its status and, for an export,
  // the file's link once ready, asking again for a while and leaving a refresh button after.
  async function follow(request, where) {
    let current = request;
    for (let attempt = 0; attempt < PRIVACY_TRIES; attempt += 1) {
      showRequest(current, where);
      if (current.status !== "in_progress") break;
      await new Promise((resolve) => setTimeout(resolve, PRIVACY_WAIT_MS));
      current = await api.get(`/privacy/requests/${encodeURIComponent(current.id)}`);
    }
    showRequest(current, where);
  }

  function showRequest(request, where) {
    const file = request.file;
    fill(
      where,
      h(
        "p",
        {},
        t(`customer.privacy.kind.${request.kind}`),
        ": ",
        h("strong", {}, labelOf("customer.privacy.status", request.status)),
        request.waiting_for && request.waiting_for.length ? ` (${t("customer.privacy.waiting", { services: request.waiting_for.join(", ") })})` : "",
      ),
      request.reason ? h("p", {}, request.reason) : null,
      file && file.url ? h("p", {}, h("a", { href: file.url, download: file.name }, t("customer.privacy.download", { name: file.name }))) : null,
      request.status === "in_progress"
        ? h(
            "button",
            {
              type: "button",
              onclick: async () => showRequest(await api.get(`/privacy/requests/${encodeURIComponent(request.id)}`), where),
            },
            t("common.refresh"),
          )
        : null,
    );
  }

  drawHead();
  drawOverview();
  drawConsent();
  drawPrivacy();
  // The heavier lists load side by side after the profile shows.
  await Promise.all([
    renderMessages(messages.body, id),
    renderOrders(orders.body, id),
    renderTimeline(timeline.body, id),
    renderWallet(wallet.body, id),
    renderCoupons(coupons.body, id),
  ]);
}

/** The fields of the edit form that differ from the customer as loaded (a merge patch). */
function changes(form, customer) {
  const body = {};
  const social = {};
  for (const control of form.elements) {
    if (!control.name) continue;
    const value = control.value.trim() === "" ? null : control.value.trim();
    if (["facebook", "twitter", "google"].includes(control.name)) {
      if (value !== ((customer.social || {})[control.name] ?? null)) social[control.name] = value;
    } else if (value !== (customer[control.name] ?? null)) {
      body[control.name] = value;
    }
  }
  if (Object.keys(social).length) body.social = social;
  return body;
}
