// The one way screens talk to the API: same origin, the owner's bearer token, problems
// (RFC 9457) turned into ApiProblem errors that screens show next to the field or action.

const TOKEN_KEY = "clientela.token";
const signedOutListeners = new Set();

export class ApiProblem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.type = body?.type || "about:blank";
    this.title = body?.title || "";
    this.detail = body?.detail || "";
    // [{field: "email", pointer: "/email", reason: "..."}]
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
    this.body = body || {};
  }

  /** The problem's slug: "validation-error", "version-conflict", ... */
  get slug() {
    return this.type.split("/").pop();
  }
}

// The token lives in this tab's sessionStorage only: it goes when the tab closes, is never
// shared with other tabs, and is never written into a URL after sign-in.
export const session = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
  /** The token's claims (store_id, exp, scope, sub), or null when absent or unreadable. */
  claims() {
    const token = this.token();
    if (!token) return null;
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    } catch {
      return null;
    }
  },
  valid() {
    const claims = this.claims();
    return Boolean(claims && claims.exp * 1000 > Date.now());
  },
  onSignedOut(listener) {
    signedOutListeners.add(listener);
  },
};

function url(path, query) {
  const target = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      target.searchParams.append(name, String(item));
    }
  }
  return target;
}

/**
 * request('POST', '/customers', {body, query, headers}) -> {status, data, headers}.
 * Throws ApiProblem for any status >= 400 (and signs out on 401: the token expired).
 */
export async function request(method, path, { body, query, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  const token = session.token();
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url(path, query), init);
  const type = response.headers.get("Content-Type") || "";
  const data =
    response.status === 204 ? null : type.includes("json") ? await response.json() : await response.text();
  if (response.status >= 400) {
    const problem = new ApiProblem(response.status, typeof data === "object" ? data : { detail: data });
    if (response.status === 401) {
      session.signOut();
      for (const listener of signedOutListeners) listener(problem);
    }
    throw problem;
  }
  return { status: response.status, data, headers: response.headers };
}

export async function get(path, query) {
  return (await request("GET", path, { query })).data;
}

export async function post(path, body, headers) {
  return (await request("POST", path, { body, headers })).data;
}

export async function put(path, body, headers) {
  return (await request("PUT", path, { body, headers })).data;
}

export async function patch(path, body, headers) {
  return (await request("PATCH", path, { body, headers })).data;
}

export async function del(path, headers) {
  return (await request("DELETE", path, { headers })).data;
}

/** A fresh Idempotency-Key for one user action (kept while the action is retried). */
export function idempotencyKey() {
  return crypto.randomUUID();
}
