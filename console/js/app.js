// The console's shell: sign-in from the link's fragment, the navigation, the language switch,
// and a hash router that loads each screen's module (and its messages) when first opened, so
// the first load carries only the shell and the customer list.
import { session } from "./api.js";
import { h, fill } from "./dom.js";
import { LANGUAGES, lang, loadMessages, onLangChange, setLang, t } from "./i18n.js";
import { HOME, currentRoute, navigate } from "./router.js";

// path pattern -> screen module under js/screens/ (its `render(main, route)` draws it).
const ROUTES = [
  [/^\/customers$/, "customers"],
  [/^\/customers\/new$/, "customer-new"],
  [/^\/customers\/([^/]+)$/, "customer"],
  [/^\/imports$/, "imports"],
  [/^\/reports$/, "reports"],
  [/^\/flows$/, "flows"],
  [/^\/flows\/([^/]+)$/, "flow"],
  [/^\/templates$/, "templates"],
  [/^\/credits$/, "credits"],
  [/^\/exports$/, "exports"],
];
const NAV = [
  ["/customers", "nav.customers"],
  ["/imports", "nav.imports"],
  ["/reports", "nav.reports"],
  ["/flows", "nav.flows"],
  ["/templates", "nav.templates"],
  ["/credits", "nav.credits"],
  ["/exports", "nav.exports"],
];

const main = document.getElementById("main");
let renderCount = 0;

function takeTokenFromFragment() {
  // The sign-in link carries the token in the fragment (never sent to any server, never in a
  // log); it moves to this tab's session and leaves the address bar at once.
  const match = window.location.hash.match(/^#token=([A-Za-z0-9._-]+)/);
  if (!match) return;
  session.signIn(match[1]);
  history.replaceState(null, "", `${window.location.pathname}#${HOME}`);
}

function renderNav(path) {
  const nav = document.getElementById("nav");
  fill(
    nav,
    h(
      "ul",
      {},
      NAV.map(([target, key]) =>
        h(
          "li",
          {},
          h("a", { href: `#${target}`, "aria-current": path === target || path.startsWith(`${target}/`) ? "page" : null }, t(key)),
        ),
      ),
    ),
  );
  const claims = session.claims();
  document.getElementById("store-name").textContent = claims ? claims.store_id : "";
  document.getElementById("lang-label").textContent = t("shell.language");
  const select = document.getElementById("lang");
  fill(select, LANGUAGES.map((l) => h("option", { value: l.code, lang: l.code, selected: l.code === lang() }, l.name)));
}

function renderSignedOut() {
  document.title = `${t("signin.title")} · Clientela`;
  fill(document.getElementById("nav"));
  document.getElementById("store-name").textContent = "";
  fill(
    main,
    h(
      "section",
      { class: "signed-out" },
      h("h1", {}, t("signin.title")),
      h("p", {}, t("signin.body")),
      h("p", { class: "hint" }, t("signin.local")),
    ),
  );
  main.removeAttribute("aria-busy");
  main.focus();
}

async function render() {
  const mine = ++renderCount;
  document.documentElement.lang = lang();
  if (!session.valid()) {
    session.signOut();
    renderSignedOut();
    return;
  }
  const { path, query } = currentRoute();
  const found = ROUTES.map(([pattern, screen]) => [path.match(pattern), screen]).find(([m]) => m);
  if (!found) {
    navigate(HOME);
    return;
  }
  const [match, screen] = found;
  renderNav(path);
  main.setAttribute("aria-busy", "true");
  try {
    const module = await import(`./screens/${screen}.js`);
    await Promise.all((module.MESSAGES || [screen]).map(loadMessages));
    if (mine !== renderCount) return; // the owner moved on while this loaded
    fill(main);
    await module.render(main, { path, params: match.slice(1).map(decodeURIComponent), query });
  } catch (error) {
    if (mine !== renderCount || !session.valid()) return;
    console.error(error);
    fill(main, h("div", { class: "problem", role: "alert" }, h("h1", {}, t("shell.failed")), h("p", {}, String(error.message || error))));
  } finally {
    if (mine === renderCount) main.removeAttribute("aria-busy");
  }
  if (mine === renderCount && !main.contains(document.activeElement)) {
    (main.querySelector("h1") || main).setAttribute("tabindex", "-1");
    (main.querySelector("h1") || main).focus({ preventScroll: true });
  }
}

async function boot() {
  takeTokenFromFragment();
  await loadMessages("common");
  session.onSignedOut(() => renderSignedOut());
  document.getElementById("lang").addEventListener("change", (event) => setLang(event.target.value));
  onLangChange(() => render());
  window.addEventListener("hashchange", () => render());
  await render();
}

boot();
