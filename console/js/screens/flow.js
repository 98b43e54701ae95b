// One flow (#/flows/<id>): its trigger, filter and steps in the owner's words and editable
// (waits, the template of each send, who enters, re-entry, smart sending), saved as a new
// version with If-Match; go live / pause; its figures with a simple chart.
import * as api from "../api.js";
import { ApiProblem } from "../api.js";
import { append, h, uid } from "../dom.js";
import { lang, number, t } from "../i18n.js";
import { action, clearProblems, field, heading, note, showProblem, table, toast } from "../ui.js";
import { eventText, revenueText, stateBadge, triggerText } from "./flows.js";

export const MESSAGES = ["flows", "flow"];

const CONSENT_STATES = ["subscribed", "unsubscribed", "pending", "never_asked"];
const UNITS = ["days", "hours", "minutes"];

export async function render(main, { params }) {
  const [flowId] = params;
  const path = `/flows/${encodeURIComponent(flowId)}`;
  let flow;
  let templates;
  try {
    [flow, templates] = await Promise.all([api.get(path), api.get("/templates").then((answer) => answer.items)]);
  } catch (error) {
    heading(main, t("flow.title"));
    showProblem(main, error);
    return;
  }
  const head = h("div");
  const body = h("div");
  const stats = h("section", { "aria-labelledby": "flow-stats-title" });
  main.append(h("p", {}, h("a", { href: "#/flows" }, t("flow.back"))), head, body, stats);
  let form;
  let dirty = false;

  function draw(focusName) {
    heading(head, flow.name, stateBadge(flow.state), ...stateActions());
    form = flowForm(flow, templates);
    form.addEventListener("input", () => {
      dirty = true;
    });
    const save = action(t("flow.save"), () => saveFlow(), { kind: "primary", attrs: { "data-name": "save" } });
    form.append(h("div", { class: "actions" }, save, h("span", { class: "hint" }, t("flow.version", { version: flow.version }))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save.click();
    });
    body.replaceChildren(form);
    dirty = false;
    if (focusName) (main.querySelector(`[data-name="${focusName}"]`) || main.querySelector("h1"))?.focus();
  }

  function stateActions() {
    const change = (state, label, name, kind) =>
      action(label, () => changeState(state), { kind, attrs: { "data-name": name } });
    if (flow.state === "live") return [change("paused", t("flow.pause"), "pause", "")];
    const buttons = [change("live", t("flow.go_live"), "go-live", "primary")];
    if (flow.state === "paused") buttons.push(change("draft", t("flow.to_draft"), "to-draft", ""));
    return buttons;
  }

  async function saveFlow({ quiet = false } = {}) {
    clearProblems(form);
    try {
      flow = await api.put(path, { name: form.elements.name.value.trim(), definition: readDefinition(form, flow) }, { "If-Match": `"${flow.version}"` });
      dirty = false;
    } catch (error) {
      showFlowProblem(form, error, () => reload());
      throw error;
    }
    if (!quiet) {
      draw("save");
      toast(t("flow.saved", { version: flow.version }));
    }
  }

  async function changeState(state) {
    if (state === "live" && dirty) {
      // What the owner changed on the page goes live with it: saved first, as a new version.
      try {
        await saveFlow({ quiet: true });
      } catch {
        return; // saveFlow showed why
      }
    }
    clearProblems(form);
    try {
      flow = await api.put(`${path}/state`, { state }, { "If-Match": `"${flow.version}"` });
    } catch (error) {
      showFlowProblem(form, error, () => reload());
      return;
    }
    draw(flow.state === "live" ? "pause" : "go-live");
    toast(t(`flow.now.${flow.state}`));
  }

  async function reload() {
    flow = await api.get(path);
    draw("save");
  }

  draw();
  await renderStats(stats, path, flow);
}

// ---- the form ------------------------------------------------------------------------------

function flowForm(flow, templates) {
  const definition = flow.definition;
  const filter = definition.filter || {};
  const reentry = definition.reentry || { policy: "never" };
  const byId = new Map(templates.map((template) => [template.id, template]));
  return h(
    "form",
    { class: "flow-form", novalidate: true, "aria-label": t("flow.form") },
    field({ label: t("flow.name"), name: "name", value: flow.name, required: true }),
    h(
      "section",
      { class: "panel", "aria-labelledby": "flow-trigger-title" },
      h("h2", { id: "flow-trigger-title" }, t("flow.trigger")),
      h("p", {}, triggerText(definition.trigger)),
      h("p", { class: "hint" }, definition.exit_on?.length ? t("flow.exit_on.text", { events: definition.exit_on.map(eventText).join(", ") }) : t("flow.exit_on.none")),
    ),
    h(
      "fieldset",
      { class: "panel" },
      h("legend", {}, t("flow.filter")),
      h("p", { class: "hint" }, filterText(definition.filter)),
      h(
        "div",
        { class: "form-grid" },
        listField("filter.tags_any", t("flow.filter.tags_any"), filter.tags_any),
        listField("filter.tags_all", t("flow.filter.tags_all"), filter.tags_all),
        listField("filter.tags_none", t("flow.filter.tags_none"), filter.tags_none),
        listField("filter.countries", t("flow.filter.countries"), filter.countries, t("flow.filter.countries.hint")),
        listField("filter.languages", t("flow.filter.languages"), filter.languages, t("flow.filter.languages.hint")),
      ),
      h(
        "fieldset",
        { class: "choices" },
        h("legend", {}, t("flow.filter.email_consent")),
        CONSENT_STATES.map((state) => checkbox("filter.email_consent", t(`flow.consent.${state}`), (filter.email_consent || []).includes(state), state)),
      ),
    ),
    h(
      "fieldset",
      { class: "panel" },
      h("legend", {}, t("flow.sending")),
      h(
        "div",
        { class: "form-grid" },
        field({
          label: t("flow.reentry.policy"),
          name: "reentry.policy",
          value: reentry.policy,
          options: [
            ["never", t("flow.reentry.never")],
            ["after", t("flow.reentry.after")],
          ],
        }),
        field({ label: t("flow.reentry.days"), name: "reentry.days", type: "number", value: reentry.days, attrs: { min: 1, max: 3650 } }),
        listField("exit_on", t("flow.exit_on"), definition.exit_on, t("flow.exit_on.hint")),
      ),
      checkbox("smart_sending", t("flow.smart_sending"), definition.smart_sending !== false),
      checkbox("supersede", t("flow.supersede"), Boolean(definition.supersede)),
    ),
    h("h2", { id: "flow-steps-title" }, t("flow.steps")),
    h(
      "ol",
      { class: "flow-steps", "aria-labelledby": "flow-steps-title" },
      definition.steps.map((step, index) => stepItem(step, index, definition.steps, byId, templates)),
    ),
  );
}

function stepItem(step, index, steps, byId, templates) {
  const at = `steps.${index}`;
  const controls = [];
  if (step.type === "wait" && step.until && !step.duration) {
    controls.push(field({ label: t("flow.step.until.time"), name: `${at}.until.time`, type: "time", value: step.until.time }));
  } else if (step.type === "wait") {
    controls.push(durationFields(`${at}.duration`, step.duration, t("flow.step.duration")));
  } else if (step.type === "send_email") {
    const options = templates.map((template) => [template.id, template.name]);
    if (step.template_id && !byId.has(step.template_id)) options.unshift([step.template_id, t("flow.step.template.missing", { id: step.template_id })]);
    if (!step.template_id) options.unshift(["", t("flow.step.template.pick")]);
    controls.push(
      h(
        "div",
        { class: "form-grid" },
        field({ label: t("flow.step.template"), name: `${at}.template_id`, value: step.template_id || "", options }),
      ),
      checkbox(`${at}.marketing`, t("flow.step.marketing"), step.marketing !== false),
    );
  } else if (step.type === "wait_for_event") {
    controls.push(
      h("div", { class: "form-grid" }, field({ label: t("flow.step.event"), name: `${at}.event`, value: step.event || "" })),
      durationFields(`${at}.timeout`, step.timeout, t("flow.step.timeout")),
    );
  } else if (step.type === "add_tag" || step.type === "remove_tag") {
    controls.push(h("div", { class: "form-grid" }, listField(`${at}.tags`, t("flow.step.tags"), step.tags)));
  }
  const errorId = uid("step-error");
  return h(
    "li",
    { class: "flow-step", dataset: { step: step.id } },
    h(
      "fieldset",
      { "aria-describedby": errorId },
      h("legend", {}, t("flow.step.legend", { n: index + 1, type: stepType(step.type) })),
      h("p", { class: "step-summary" }, stepText(step, byId)),
      controls,
      h("p", { class: "hint" }, nextText(step, steps)),
      h("p", { id: errorId, class: "field-error", hidden: true, tabindex: "-1", dataset: { stepError: String(index) } }),
    ),
  );
}

function listField(name, label, values, hint) {
  return field({ label, name, value: (values || []).join(", "), hint: hint || t("flow.list.hint") });
}

function durationFields(name, duration, legend) {
  const value = duration || {};
  return h(
    "fieldset",
    { class: "duration" },
    h("legend", {}, legend),
    UNITS.map((unit) => field({ label: t(`flow.unit.${unit}.label`), name: `${name}.${unit}`, type: "number", value: value[unit] || 0, attrs: { min: 0 } })),
  );
}

// A checkbox with its label (ui.field draws text inputs and selects).
function checkbox(name, label, checked, value = "on") {
  const id = uid(name);
  return h(
    "div",
    { class: "check" },
    h("input", { type: "checkbox", id, name, value, checked, "aria-describedby": `${id}-error` }),
    h("label", { for: id }, label),
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

// ---- reading the form back into a definition -------------------------------------------------

function readDefinition(form, flow) {
  const definition = structuredClone(flow.definition);
  const value = (name) => form.elements.namedItem(name)?.value.trim() ?? "";
  const list = (name) => value(name).split(",").map((item) => item.trim()).filter(Boolean);
  const checked = (name) => Boolean(form.querySelector(`[name="${CSS.escape(name)}"]`)?.checked);
  const filter = {
    ...(definition.filter || {}),
    tags_any: list("filter.tags_any"),
    tags_all: list("filter.tags_all"),
    tags_none: list("filter.tags_none"),
    countries: list("filter.countries").map((country) => country.toUpperCase()),
    languages: list("filter.languages"),
    email_consent: [...form.querySelectorAll('[name="filter.email_consent"]:checked')].map((box) => box.value),
  };
  const anyFilter = Object.values(filter).some((part) => Array.isArray(part) && part.length);
  definition.filter = anyFilter || definition.filter ? filter : null;
  const policy = value("reentry.policy");
  definition.reentry = { policy, days: policy === "after" && value("reentry.days") ? Number(value("reentry.days")) : null };
  definition.exit_on = list("exit_on");
  definition.smart_sending = checked("smart_sending");
  definition.supersede = checked("supersede");
  const duration = (name) => Object.fromEntries(UNITS.map((unit) => [unit, Number(value(`${name}.${unit}`) || 0)]));
  definition.steps = definition.steps.map((step, index) => {
    const at = `steps.${index}`;
    const changed = { ...step };
    if (step.type === "wait" && step.until && !step.duration) changed.until = { ...step.until, time: value(`${at}.until.time`) };
    else if (step.type === "wait") changed.duration = duration(`${at}.duration`);
    else if (step.type === "send_email") {
      changed.template_id = value(`${at}.template_id`) || null;
      changed.marketing = checked(`${at}.marketing`);
    } else if (step.type === "wait_for_event") {
      changed.event = value(`${at}.event`) || null;
      changed.timeout = duration(`${at}.timeout`);
    } else if (step.type === "add_tag" || step.type === "remove_tag") changed.tags = list(`${at}.tags`);
    return changed;
  });
  return definition;
}

/**
 * A problem of this form: faults of a step (`definition.steps.<i>...`, as going live names
 * them) next to that step, the others next to their field or in the banner. `reload` is
 * offered when the flow moved on meanwhile (412).
 */
function showFlowProblem(form, error, reload) {
  const stepErrors = [];
  let shown = error;
  if (error instanceof ApiProblem) {
    const others = [];
    for (const item of error.errors) {
      const name = (item.field || "").replace(/^definition\./, "");
      const match = name.match(/^steps\.(\d+)/);
      if (match) stepErrors.push({ ...item, name, index: match[1] });
      else others.push({ ...item, field: name });
    }
    shown = Object.assign(Object.create(ApiProblem.prototype), error, { errors: others });
  }
  const banner = showProblem(form, shown);
  for (const item of stepErrors) {
    // Next to the field the fault names where the step has one, else under the whole step.
    const control = form.querySelector(`[name="${CSS.escape(item.name)}"]`);
    const slot = (control && document.getElementById(`${control.id}-error`)) || form.querySelector(`[data-step-error="${item.index}"]`);
    if (!slot) continue;
    if (control) control.setAttribute("aria-invalid", "true");
    slot.append(h("span", { class: "fault" }, faultText(item)), " ");
    slot.hidden = false;
  }
  if (stepErrors.length) {
    const first = form.querySelector("[aria-invalid='true']") || form.querySelector(`[data-step-error="${stepErrors[0].index}"]`);
    first.focus();
  }
  if (error instanceof ApiProblem && error.status === 412 && banner) {
    banner.append(action(t("flow.reload"), reload, { where: form }));
  }
}

function faultText(item) {
  const known = t(`flow.fault.${item.code}`);
  return known === `flow.fault.${item.code}` ? item.reason : known;
}

// ---- the definition in the owner's words -------------------------------------------------------

function stepType(type) {
  const key = `flow.type.${type}`;
  const text = t(key);
  return text === key ? type : text;
}

function durationText(duration) {
  const parts = UNITS.filter((unit) => duration?.[unit]).map((unit) => t(`flow.unit.${unit}`, { count: duration[unit] }));
  if (!parts.length) return t("flow.unit.none");
  return new Intl.ListFormat(lang(), { type: "conjunction" }).format(parts);
}

function weekdaysText(days) {
  const format = new Intl.DateTimeFormat(lang(), { weekday: "short", timeZone: "UTC" });
  // 5 January 2026 is a Monday: weekday 0 in the API.
  const names = (days || []).map((day) => format.format(new Date(Date.UTC(2026, 0, 5 + day))));
  return new Intl.ListFormat(lang(), { type: "conjunction" }).format(names);
}

function filterText(filter) {
  if (!filter) return t("flow.filter.everyone");
  const parts = [];
  const join = (items) => items.join(", ");
  if (filter.tags_any?.length) parts.push(t("flow.filter.text.tags_any", { tags: join(filter.tags_any) }));
  if (filter.tags_all?.length) parts.push(t("flow.filter.text.tags_all", { tags: join(filter.tags_all) }));
  if (filter.tags_none?.length) parts.push(t("flow.filter.text.tags_none", { tags: join(filter.tags_none) }));
  if (filter.email_consent?.length) parts.push(t("flow.filter.text.email_consent", { states: join(filter.email_consent.map((s) => t(`flow.consent.${s}`))) }));
  if (filter.countries?.length) parts.push(t("flow.filter.text.countries", { countries: join(filter.countries) }));
  if (filter.languages?.length) parts.push(t("flow.filter.text.languages", { languages: join(filter.languages) }));
  return parts.length ? parts.join("; ") : t("flow.filter.everyone");
}

function stepText(step, byId) {
  switch (step.type) {
    case "wait":
      return step.until && !step.duration
        ? t("flow.summary.wait_until", { time: step.until.time, days: weekdaysText(step.until.weekdays) })
        : t("flow.summary.wait", { duration: durationText(step.duration) });
    case "send_email":
      return t(step.marketing === false ? "flow.summary.send_service" : "flow.summary.send", {
        template: byId.get(step.template_id)?.name || step.template_id || "—",
      });
    case "condition": {
      const condition = step.condition || {};
      const parts = [];
      if (condition.filter) parts.push(filterText(condition.filter));
      if (condition.event_since_entry) parts.push(t("flow.summary.since_entry", { event: eventText(condition.event_since_entry) }));
      return t("flow.summary.condition", { condition: parts.join("; ") || "—" });
    }
    case "wait_for_event":
      return t("flow.summary.wait_for_event", { event: eventText(step.event), duration: durationText(step.timeout) });
    case "add_tag":
      return t("flow.summary.add_tag", { tags: (step.tags || []).join(", ") });
    case "remove_tag":
      return t("flow.summary.remove_tag", { tags: (step.tags || []).join(", ") });
    case "exit":
      return t("flow.summary.exit");
    default:
      return step.type;
  }
}

function nextText(step, steps) {
  const ref = (id) => {
    const index = steps.findIndex((candidate) => candidate.id === id);
    return index < 0 ? id : t("flow.step.ref", { n: index + 1, type: stepType(steps[index].type) });
  };
  const end = t("flow.next.end_short");
  if (step.type === "condition") return t("flow.next.branch", { then: step.then ? ref(step.then) : end, else: step.else ? ref(step.else) : end });
  if (step.type === "wait_for_event") return t("flow.next.event", { on_event: step.on_event ? ref(step.on_event) : end, on_timeout: step.on_timeout ? ref(step.on_timeout) : end });
  return step.next ? t("flow.next.step", { step: ref(step.next) }) : t("flow.next.end");
}

// ---- stats ---------------------------------------------------------------------------------------

async function renderStats(area, path, flow) {
  area.replaceChildren(h("h2", { id: "flow-stats-title" }, t("flow.stats")));
  let stats;
  try {
    stats = await api.get(`${path}/stats`);
  } catch (error) {
    showProblem(area, error);
    return;
  }
  const skipped = Object.values(stats.skipped || {}).reduce((sum, count) => sum + count, 0);
  const funnel = [
    ["entered", stats.entered],
    ["sent", stats.sent],
    ["skipped", skipped],
    ["opened", stats.opened],
    ["clicked", stats.clicked],
    ["converted", stats.converted],
  ];
  const top = Math.max(1, ...funnel.map(([, count]) => count));
  const chart = h(
    "figure",
    { class: "flow-chart" },
    h("figcaption", {}, t("flow.stats.chart")),
    h(
      "dl",
      { class: "chart" },
      funnel.map(([key, count]) => {
        const bar = h("span", { class: "bar", "aria-hidden": "true" });
        bar.style.width = `${(100 * count) / top}%`;
        return h("div", { class: "chart-row", dataset: { figure: key } }, h("dt", {}, t(`flow.stats.${key}`)), h("dd", {}, h("span", { class: "chart-value" }, number(count)), h("span", { class: "chart-track" }, bar)));
      }),
      h("div", { class: "chart-row", dataset: { figure: "revenue" } }, h("dt", {}, t("flow.stats.revenue")), h("dd", {}, h("span", { class: "chart-value" }, revenueText(stats.revenue)))),
    ),
  );
  const reasons = Object.entries(stats.skipped || {});
  const ended = Object.entries(stats.ended || {});
  append(area, [
    chart,
    reasons.length
      ? h("div", {}, h("h3", {}, t("flow.stats.skipped_by")), h("ul", {}, reasons.map(([reason, count]) => h("li", {}, `${skipReason(reason)}: ${number(count)}`))))
      : null,
    ended.length
      ? h("div", {}, h("h3", {}, t("flow.stats.ended_by")), h("ul", {}, ended.map(([reason, count]) => h("li", {}, `${endReason(reason)}: ${number(count)}`))))
      : null,
    stats.steps.length
      ? table({
          caption: t("flow.stats.per_step"),
          rows: stats.steps,
          columns: [
            { key: "step_id", label: t("flow.stats.step"), render: (row) => stepLabel(row.step_id, flow) },
            { key: "sent", label: t("flow.stats.sent"), numeric: true, render: (row) => number(row.sent) },
            { key: "skipped", label: t("flow.stats.skipped"), numeric: true, render: (row) => number(Object.values(row.skipped || {}).reduce((a, b) => a + b, 0)) },
            { key: "opened", label: t("flow.stats.opened"), numeric: true, render: (row) => number(row.opened) },
            { key: "clicked", label: t("flow.stats.clicked"), numeric: true, render: (row) => number(row.clicked) },
            { key: "converted", label: t("flow.stats.converted"), numeric: true, render: (row) => number(row.converted) },
            { key: "revenue", label: t("flow.stats.revenue"), numeric: true, render: (row) => revenueText(row.revenue) },
          ],
        })
      : note(t("flow.stats.no_steps")),
  ]);
}

function stepLabel(stepId, flow) {
  const index = flow.definition.steps.findIndex((step) => step.id === stepId);
  return index < 0 ? stepId : t("flow.step.ref", { n: index + 1, type: stepType(flow.definition.steps[index].type) });
}

function endReason(reason) {
  const key = `flow.ended.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
}

function skipReason(reason) {
  const key = `flow.skip.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
}
