// Automation (seed 000): the store's e-mail flows with their state and headline figures, a
// built-in flow set up in one click (as a draft to review, then taken live on its page), and
// the store's sending settings (time zone, quiet hours, smart sending, shop address).
import * as api from "../api.js";
import { h } from "../dom.js";
import { dateTime, money, number, t } from "../i18n.js";
import { navigate } from "../router.js";
import { action, clearProblems, field, heading, note, showProblem, table, toast } from "../ui.js";

export const MESSAGES = ["flows"];

// The built-in flows of POST /flows/templates/{name}, in the order a new store needs them.
const BUILT_IN = ["abandoned_cart", "welcome", "win_back", "post_purchase_review", "birthday", "credit_expiring"];
// Event types a store owner meets most; any other shows as the API names it.
const EVENTS = ["cart.updated", "order.placed", "order.cancelled", "order.refunded", "customer.created", "review.created", "credit.expiring", "email.opened", "email.clicked", "product.viewed"];

/** An event type in the owner's words ("a cart is updated"), or its API name. */
export function eventText(event) {
  return EVENTS.includes(event) ? t(`flows.event.${event}`) : event || "";
}

/** What makes a customer enter a flow, readably. */
export function triggerText(trigger) {
  if (!trigger) return "";
  if (trigger.type === "event") return t("flows.trigger.event", { event: eventText(trigger.event) });
  if (trigger.type === "date") {
    const property = t(`flows.date.${trigger.date_property || "birthday"}`);
    return trigger.days_after
      ? t("flows.trigger.date_after", { count: trigger.days_after, property })
      : t("flows.trigger.date_on", { property });
  }
  if (trigger.type === "segment") return t("flows.trigger.segment", { segment: trigger.segment_id || "" });
  return t("flows.trigger.schedule");
}

/** The flow's state as a badge (draft / live / paused). */
export function stateBadge(state) {
  const kind = state === "live" ? "ok" : state === "paused" ? "warn" : "";
  return h("span", { class: `badge ${kind}` }, t(`flows.state.${state}`));
}

/** Revenue by currency ({"BRL": "159.80"}) as the owner reads amounts. */
export function revenueText(revenue) {
  const parts = Object.entries(revenue || {}).map(([currency, amount]) => money(amount, currency));
  return parts.length ? parts.join(" + ") : number(0);
}

export async function render(main) {
  heading(main, t("flows.title"));
  const listArea = h("section", { "aria-labelledby": "flows-list-title" });
  const builtIn = h("section", { class: "panel", "aria-labelledby": "flows-new-title" });
  const settingsArea = h("section", { "aria-labelledby": "flows-settings-title" });
  main.append(builtIn, listArea, settingsArea);

  builtIn.append(
    h("h2", { id: "flows-new-title" }, t("flows.new.title")),
    h("p", { class: "hint" }, t("flows.new.hint")),
    h(
      "div",
      { class: "cards" },
      BUILT_IN.map((name) =>
        h(
          "div",
          { class: "flow-template" },
          h("h3", {}, t(`flows.builtin.${name}`)),
          h("p", {}, t(`flows.builtin.${name}.about`)),
          action(
            t("flows.new.use"),
            async () => {
              const flow = await api.post(`/flows/templates/${name}?state=draft`);
              toast(t("flows.new.created"));
              navigate(`/flows/${encodeURIComponent(flow.id)}`);
            },
            { where: builtIn, attrs: { "aria-label": t("flows.new.use_named", { name: t(`flows.builtin.${name}`) }) } },
          ),
        ),
      ),
    ),
  );

  await Promise.all([renderList(listArea), renderSettings(settingsArea)]);
}

async function renderList(area) {
  area.replaceChildren(h("h2", { id: "flows-list-title" }, t("flows.list.title")), note(t("common.loading")));
  let flows;
  try {
    flows = (await api.get("/flows")).items;
  } catch (error) {
    area.lastChild.remove();
    showProblem(area, error);
    return;
  }
  // Each flow's figures: one small read per flow (a store has a handful of flows).
  const stats = new Map(
    await Promise.all(flows.map(async (flow) => [flow.id, await api.get(`/flows/${encodeURIComponent(flow.id)}/stats`).catch(() => null)])),
  );
  area.lastChild.remove();
  if (!flows.length) {
    area.append(note(t("flows.list.empty")));
    return;
  }
  const figure = (key) => (flow) => (stats.get(flow.id) ? number(stats.get(flow.id)[key]) : "—");
  area.append(
    table({
      caption: t("flows.list.caption"),
      rows: flows,
      columns: [
        { key: "name", label: t("flows.col.name"), render: (f) => h("a", { href: `#/flows/${encodeURIComponent(f.id)}` }, f.name) },
        { key: "state", label: t("flows.col.state"), render: (f) => stateBadge(f.state) },
        { key: "trigger", label: t("flows.col.trigger"), render: (f) => triggerText(f.definition.trigger) },
        { key: "entered", label: t("flows.col.entered"), numeric: true, render: figure("entered") },
        { key: "sent", label: t("flows.col.sent"), numeric: true, render: figure("sent") },
        { key: "opened", label: t("flows.col.opened"), numeric: true, render: figure("opened") },
        { key: "converted", label: t("flows.col.converted"), numeric: true, render: figure("converted") },
        { key: "revenue", label: t("flows.col.revenue"), numeric: true, render: (f) => (stats.get(f.id) ? revenueText(stats.get(f.id).revenue) : "—") },
        { key: "updated_at", label: t("flows.col.updated"), render: (f) => dateTime(f.updated_at) },
      ],
    }),
  );
}

async function renderSettings(area) {
  area.replaceChildren(h("h2", { id: "flows-settings-title" }, t("flows.settings.title")));
  let current;
  try {
    current = await api.get("/flows/settings");
  } catch (error) {
    showProblem(area, error);
    return;
  }
  const form = h(
    "form",
    { class: "panel", novalidate: true },
    h("p", { class: "hint" }, t("flows.settings.hint")),
    h(
      "div",
      { class: "form-grid" },
      field({ label: t("flows.settings.time_zone"), name: "time_zone", value: current.time_zone, hint: t("flows.settings.time_zone.hint") }),
      field({ label: t("flows.settings.quiet_start"), name: "quiet_start", type: "time", value: current.quiet_start }),
      field({ label: t("flows.settings.quiet_end"), name: "quiet_end", type: "time", value: current.quiet_end }),
      field({
        label: t("flows.settings.smart_sending_hours"),
        name: "smart_sending_hours",
        type: "number",
        value: current.smart_sending_hours,
        hint: t("flows.settings.smart_sending_hours.hint"),
        attrs: { min: 1, max: 168 },
      }),
      field({ label: t("flows.settings.shop_url"), name: "shop_url", type: "url", value: current.shop_url, hint: t("flows.settings.shop_url.hint") }),
    ),
  );
  const save = action(
    t("common.save"),
    async () => {
      clearProblems(form);
      const value = (name) => form.elements[name].value.trim() || null;
      const hours = value("smart_sending_hours");
      await api.put("/flows/settings", {
        time_zone: value("time_zone"),
        quiet_start: value("quiet_start"),
        quiet_end: value("quiet_end"),
        smart_sending_hours: hours === null ? null : Number(hours),
        shop_url: value("shop_url"),
      });
      toast(t("flows.settings.saved"));
    },
    { where: form, kind: "primary" },
  );
  form.append(h("div", { class: "actions" }, save));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save.click();
  });
  area.append(form);
}
