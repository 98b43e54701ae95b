// Adding a customer by hand (seed 004): the fields of POST /customers, the API's refusals next
// to their fields, and on success the customer's page.
import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import { field, heading, showProblem } from "../ui.js";

export const MESSAGES = ["customer-new"];
const GENDERS = ["female", "male", "non_binary", "other", "undisclosed"];
const CONSENT = ["never_asked", "subscribed", "unsubscribed", "pending"];
const LANGUAGES = ["pt-BR", "es", "it", "en"];
// The document (CPF, DNI, codice fiscale) has no field of its own in the API: it is kept as a
// profile attribute, which the customer's page shows with the others.
const DOCUMENT = "attributes.document";

export async function render(main) {
  heading(main, t("customer-new.title"), h("a", { href: "#/customers" }, t("customer-new.back")));
  const text = (name, attrs = {}, extra = {}) => field({ label: t(`customer-new.field.${name}`), name, attrs, ...extra });
  const choice = (name, values, prefix) =>
    field({
      label: t(`customer-new.field.${name}`),
      name,
      options: [["", t("customer-new.unset")], ...values.map((v) => [v, t(`${prefix}.${v}`)])],
    });
  const consent = (name) =>
    field({
      label: t(`customer-new.field.${name}`),
      name: `${name}.state`,
      value: "never_asked",
      options: CONSENT.map((v) => [v, t(`customer-new.consent.${v}`)]),
    });

  const form = h(
    "form",
    { class: "customer-new", novalidate: true },
    section("who", [
      text("first_name", { maxlength: 100, autocomplete: "off" }),
      text("last_name", { maxlength: 100, autocomplete: "off" }),
      field({ label: t("customer-new.field.document"), name: DOCUMENT, hint: t("customer-new.hint.document"), attrs: { maxlength: 40, autocomplete: "off" } }),
      field({ label: t("customer-new.field.birthday"), name: "birthday", type: "date" }),
      choice("gender", GENDERS, "customer-new.gender"),
      choice("language", LANGUAGES, "customer-new.language"),
    ]),
    section("contact", [
      field({ label: t("customer-new.field.email"), name: "email", type: "email", hint: t("customer-new.hint.contact"), attrs: { maxlength: 320, autocomplete: "off" } }),
      field({ label: t("customer-new.field.phone"), name: "phone", type: "tel", hint: t("customer-new.hint.phone"), attrs: { maxlength: 32, autocomplete: "off" } }),
      consent("email_consent"),
      consent("sms_consent"),
    ]),
    section("address", [
      text("city", { maxlength: 100, autocomplete: "off" }),
      text("region", { maxlength: 100, autocomplete: "off" }),
      text("country", { maxlength: 2, autocomplete: "off" }, { hint: t("customer-new.hint.country") }),
    ]),
    section("organise", [
      text("tags", { autocomplete: "off" }, { hint: t("customer-new.hint.tags") }),
      field({ label: t("customer-new.field.notes"), name: "notes", type: "textarea", attrs: { maxlength: 5000 } }),
    ]),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("customer-new.save")),
      h("a", { class: "button", href: "#/customers" }, t("common.cancel")),
    ),
  );
  main.append(form);

  // One key per body: a retried submission (a lost answer) is answered as the first was, and
  // a corrected form is a new request.
  let sent = { body: null, key: null };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type='submit']");
    if (submit.disabled) return;
    const body = bodyOf(form);
    const text = JSON.stringify(body);
    if (sent.body !== text) sent = { body: text, key: api.idempotencyKey() };
    submit.disabled = true;
    try {
      const { data } = await api.request("POST", "/customers", { body, headers: { "Idempotency-Key": sent.key } });
      navigate(`/customers/${encodeURIComponent(data.id)}`);
    } catch (error) {
      showProblem(form, error);
      explain(form, error, body);
    } finally {
      submit.disabled = false;
    }
  });
}

function section(name, fields) {
  return h("fieldset", { class: "panel" }, h("legend", {}, t(`customer-new.section.${name}`)), h("div", { class: "form-grid" }, fields));
}

function bodyOf(form) {
  const value = (name) => form.elements[name].value.trim();
  const body = {};
  for (const name of ["first_name", "last_name", "email", "phone", "birthday", "gender", "language", "city", "region", "notes"]) {
    if (value(name)) body[name] = value(name);
  }
  if (value("country")) body.country = value("country").toUpperCase();
  const tags = value("tags").split(",").map((tag) => tag.trim()).filter(Boolean);
  if (tags.length) body.tags = tags;
  if (value(DOCUMENT)) body.attributes = { document: value(DOCUMENT) };
  for (const channel of ["email_consent", "sms_consent"]) {
    const state = value(`${channel}.state`);
    if (state !== "never_asked") body[channel] = { state, source: "admin" };
  }
  return body;
}

/** The owner's words where the API's general ones say less than this form knows. */
function explain(form, error, body) {
  if (!(error instanceof api.ApiProblem)) return;
  const say = (name, message, extra) => {
    const control = form.elements[name];
    const slot = control && document.getElementById(`${control.id}-error`);
    if (!slot) return;
    control.setAttribute("aria-invalid", "true");
    slot.replaceChildren(message, ...(extra ? [" ", extra] : []));
    slot.hidden = false;
  };
  if (error.slug === "email-taken") {
    const existing = error.body.existing_customer_id;
    const link = existing ? h("a", { href: `#/customers/${encodeURIComponent(existing)}` }, t("customer-new.open_existing")) : null;
    say("email", t("customer-new.error.email_taken"), link);
    form.elements.email.focus();
    return;
  }
  if (error.slug === "erased-person") {
    say(body.email ? "email" : "phone", t("customer-new.error.erased"));
    return;
  }
  const fields = new Set(error.errors.map((e) => e.field));
  if (!body.email && !body.phone && fields.has("email") && fields.has("phone")) {
    say("email", t("customer-new.error.contact_required"));
    say("phone", t("customer-new.error.contact_required"));
    form.elements.email.focus();
    return;
  }
  for (const refusal of error.errors) {
    if (refusal.field === "email" && refusal.code !== "missing") say("email", t("customer-new.error.email"));
    if (refusal.field === "phone") say("phone", t("customer-new.error.phone"));
    if (refusal.field === "country") say("country", t("customer-new.error.country"));
  }
}
