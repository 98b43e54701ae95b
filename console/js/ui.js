// Widgets every screen shares: labelled fields with an error slot, problems shown where they
// belong, sortable tables, progress, confirmations and the status line.
import { ApiProblem } from "./api.js";
import { h, fill, uid } from "./dom.js";
import { t } from "./i18n.js";

/**
 * A labelled input with its hint and error slot wired for screen readers.
 * field({label, name, type='text', value, required, hint, options: [[value, label]], attrs})
 */
export function field({ label, name, type = "text", value, required, hint, options, attrs = {} }) {
  const id = uid(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  let control;
  if (options) {
    control = h(
      "select",
      { id, name, required, "aria-describedby": describedBy, ...attrs },
      options.map(([optionValue, optionLabel]) =>
        h("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, optionLabel),
      ),
    );
  } else if (type === "textarea") {
    control = h("textarea", { id, name, required, "aria-describedby": describedBy, ...attrs }, value ?? "");
  } else {
    control = h("input", { id, name, type, value: value ?? "", required, "aria-describedby": describedBy, ...attrs });
  }
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
    control,
    hint ? h("p", { id: hintId, class: "hint" }, hint) : null,
    h("p", { id: errorId, class: "field-error", hidden: true }),
  );
}

/** Clears what showProblem put in a form or area. */
export function clearProblems(container) {
  for (const control of container.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const slot of container.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const banner of container.querySelectorAll(".problem")) banner.remove();
}

/** The owner's words for a refusal: by the error's code where we know it, else the API's. */
export function reasonText(error) {
  const known = t(`problem.code.${error.code}`);
  return known === `problem.code.${error.code}` ? error.reason : known;
}

/** The owner's words for a whole problem: by its slug and status. */
export function problemText(problem) {
  if (!(problem instanceof ApiProblem)) return t("problem.network");
  for (const key of [`problem.${problem.slug}`, `problem.status.${problem.status}`]) {
    const text = t(key);
    if (text !== key) return text;
  }
  return problem.detail || problem.title || t("problem.unknown");
}

/**
 * Shows a problem next to the fields it names (by `name`, the last part of a dotted field
 * also matching), and the rest in a banner at the top of `container`, focused so a keyboard or
 * screen-reader user hears it. Returns the banner (or null).
 */
export function showProblem(container, problem) {
  clearProblems(container);
  const unplaced = [];
  for (const error of problem instanceof ApiProblem ? problem.errors : []) {
    const control = findControl(container, error.field);
    const slot = control && document.getElementById(`${control.id}-error`);
    if (control && slot) {
      control.setAttribute("aria-invalid", "true");
      slot.textContent = reasonText(error);
      slot.hidden = false;
    } else {
      unplaced.push(error);
    }
  }
  const banner = h(
    "div",
    { class: "problem", role: "alert", tabindex: "-1" },
    h("p", {}, problemText(problem)),
    unplaced.length
      ? h("ul", {}, unplaced.map((error) => h("li", {}, error.field ? `${error.field}: ` : "", reasonText(error))))
      : null,
  );
  container.prepend(banner);
  const firstInvalid = container.querySelector("[aria-invalid='true']");
  (firstInvalid || banner).focus();
  return banner;
}

function findControl(container, fieldName) {
  if (!fieldName) return null;
  const candidates = [fieldName, fieldName.split(".").pop()];
  for (const name of candidates) {
    const control = container.querySelector(`[name="${CSS.escape(name)}"]`);
    if (control) return control;
  }
  return null;
}

/** A short message in the status line (polite live region). */
export function toast(message) {
  const region = document.getElementById("toast");
  region.textContent = message;
  region.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => region.classList.remove("shown"), 5000);
}

/** A button that runs an async action once at a time, showing problems in `where`. */
export function action(label, run, { where, kind = "", attrs = {} } = {}) {
  const button = h("button", { type: "button", class: kind, ...attrs }, label);
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await run();
    } catch (error) {
      if (where) showProblem(where, error);
      else throw error;
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
  return button;
}

/** Asks for confirmation in a modal <dialog>; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => dialog.close("no") }, t("common.cancel")),
        h("button", { type: "button", class: "danger", onclick: () => dialog.close("yes") }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled progress bar; update with bar.set(done, total). */
export function progress(label) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": label });
  const text = h("span", { class: "progress-text" });
  const wrap = h("div", { class: "progress" }, bar, text);
  wrap.set = (done, total) => {
    bar.max = Math.max(total || 0, 1);
    bar.value = Math.min(done || 0, bar.max);
    text.textContent = total ? `${done} / ${total}` : "";
  };
  return wrap;
}

/**
 * A table whose headers sort: columns = [{key, label, sort: 'api-sort-name' | null,
 * render: (row) => node|text, numeric}], sort = current API sort ("name", "-total_spent"),
 * onSort(newSort). Sorted headers carry aria-sort.
 */
export function table({ columns, rows, sort, onSort, caption, rowAttrs }) {
  const head = h(
    "tr",
    {},
    columns.map((column) => {
      if (!column.sort || !onSort) return h("th", { scope: "col", class: column.numeric ? "num" : "" }, column.label);
      const active = sort === column.sort || sort === `-${column.sort}`;
      const descending = sort === `-${column.sort}`;
      const next = active && !descending ? `-${column.sort}` : column.sort;
      return h(
        "th",
        {
          scope: "col",
          class: column.numeric ? "num" : "",
          "aria-sort": active ? (descending ? "descending" : "ascending") : "none",
        },
        h("button", { type: "button", class: "sort", onclick: () => onSort(next) }, column.label, h("span", { "aria-hidden": "true" }, active ? (descending ? " ▼" : " ▲") : "")),
      );
    }),
  );
  const body = h(
    "tbody",
    {},
    rows.map((row) =>
      h(
        "tr",
        rowAttrs ? rowAttrs(row) : {},
        columns.map((column) => h("td", { class: column.numeric ? "num" : "" }, column.render ? column.render(row) : row[column.key] ?? "")),
      ),
    ),
  );
  return h("table", { class: "grid" }, caption ? h("caption", {}, caption) : null, h("thead", {}, head), body);
}

/** An empty-state line or a loading line, in the same place a list will be. */
export function note(text) {
  return h("p", { class: "note" }, text);
}

/** Sets a screen's heading and document title together. */
export function heading(root, text, ...extra) {
  document.title = `${text} · Clientela`;
  return fill(root, h("div", { class: "screen-head" }, h("h1", {}, text), ...extra));
}
