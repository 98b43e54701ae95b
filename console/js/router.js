// Routes live in the address's fragment (#/customers/c-1?tag=vip): the console is static
// files, so any path of it can be reloaded or bookmarked without a server-side fallback.
export const HOME = "/customers";

/** The route in the fragment: {path, query (URLSearchParams)}. */
export function currentRoute() {
  const raw = window.location.hash.replace(/^#/, "") || HOME;
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

/** Opens another screen (adds a history entry). */
export function navigate(path, query) {
  const search = query && String(new URLSearchParams(query));
  window.location.hash = search ? `${path}?${search}` : path;
}

/** Keeps a screen's state (filters, sort) in the address without reloading the screen. */
export function replaceQuery(query) {
  const { path } = currentRoute();
  const search = String(new URLSearchParams(query));
  history.replaceState(null, "", `${window.location.pathname}#${search ? `${path}?${search}` : path}`);
}
