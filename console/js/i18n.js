// Messages and formats in the owner's language. Each screen keeps its messages in
// i18n/<bundle>.json ({"en": {...}, "pt-BR": {...}, "es": {...}, "it": {...}}, the same keys in
// each, checked by tests/unit/test_console_messages.py) and loads them before it renders.

export const LANGUAGES = [
  { code: "pt-BR", name: "Português (Brasil)" },
  { code: "es", name: "Español" },
  { code: "it", name: "Italiano" },
  { code: "en", name: "English" },
];
const CODES = LANGUAGES.map((l) => l.code);
const STORAGE_KEY = "clientela.lang";

let current = pick();
const bundles = new Map(); // bundle name -> {lang: {key: text}}
const listeners = new Set();

function pick() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (CODES.includes(saved)) return saved;
  for (const wanted of navigator.languages || [navigator.language || "en"]) {
    const lower = wanted.toLowerCase();
    if (lower.startsWith("pt")) return "pt-BR";
    const base = lower.split("-")[0];
    if (CODES.includes(base)) return base;
  }
  return "en";
}

export function lang() {
  return current;
}

export function setLang(code) {
  if (!CODES.includes(code) || code === current) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = code;
  for (const listener of listeners) listener(code);
}

/** Called with the new language code whenever the owner switches. */
export function onLangChange(listener) {
  listeners.add(listener);
}

/** Loads i18n/<name>.json once; screens await it before their first render. */
export async function loadMessages(name) {
  if (bundles.has(name)) return;
  const response = await fetch(new URL(`../i18n/${name}.json`, import.meta.url));
  if (!response.ok) throw new Error(`messages ${name}: ${response.status}`);
  bundles.set(name, await response.json());
}

function lookup(key, code) {
  for (const bundle of bundles.values()) {
    const messages = bundle[code];
    if (messages && Object.hasOwn(messages, key)) return messages[key];
  }
  return undefined;
}

/**
 * t('customers.count', {count: 3}): the message in the current language (English when a key is
 * missing there, the key itself when missing everywhere, so a gap shows and is never blank).
 * A message may be {"one": ..., "other": ...} (and "zero"), chosen by pluralForm(vars.count).
 */
export function t(key, vars = {}) {
  let message = lookup(key, current) ?? lookup(key, "en") ?? key;
  if (typeof message === "object") {
    const count = Number(vars.count ?? 0);
    message = message[pluralForm(count)] ?? message.other;
  }
  return message.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(vars, name) ? format(vars[name]) : whole,
  );
}

// CLDR puts 0 in Portuguese's "one" form ("0 cliente"), yet Brazilian Portuguese, like Spanish,
// Italian and English, says zero in the plural ("0 clientes"): a zero takes the message's `zero`
// form when it has one, else `other`; other counts follow Intl.PluralRules.
function pluralForm(count) {
  if (count === 0) return "zero";
  return new Intl.PluralRules(current).select(count);
}

function format(value) {
  return typeof value === "number" ? number(value) : String(value);
}

// Formats follow the owner's language; amounts keep their own currency. Decimal strings go to
// Intl as strings, so no amount is ever rounded through a float.
export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "";
  if (!currency) return number(amount, { minimumFractionDigits: 2 });
  return new Intl.NumberFormat(current, { style: "currency", currency }).format(amount);
}

export function number(value, options = {}) {
  if (value === null || value === undefined || value === "") return "";
  return new Intl.NumberFormat(current, options).format(value);
}

export function percent(value) {
  return number(value, { style: "percent", maximumFractionDigits: 1 });
}

/** A calendar date ("2026-11-29" or a timestamp) as the owner writes dates. */
export function date(value) {
  if (!value) return "";
  const plain = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const parsed = new Date(plain ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime())) return String(value);
  return new Intl.DateTimeFormat(current, {
    dateStyle: "medium",
    timeZone: plain ? "UTC" : undefined,
  }).format(parsed);
}

export function dateTime(value) {
  if (!value) return "";
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return String(value);
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(
    parsed,
  );
}
