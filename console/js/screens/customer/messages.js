// One-to-one messages (seed 003): the customer's threads, each opened with its messages oldest
// first and a reply box; a compose box starts a new thread. The customer's replies arrive by
// mail and are threaded by the API; "Refresh" shows what arrived since the thread was opened.
import * as api from "../../api.js";
import { h, fill } from "../../dom.js";
import { dateTime, number, t } from "../../i18n.js";
import { clearProblems, field, note, showProblem, toast } from "../../ui.js";

export async function renderMessages(where, customerId) {
  const threads = h("div", { class: "threads" });
  const shown = new Set();
  const compose = composeForm(customerId, (thread) => {
    threads.querySelector(".threads-empty")?.remove();
    shown.add(thread.id);
    threads.prepend(threadView(thread, { open: true, fresh: thread }));
  });
  fill(where, compose, threads);
  try {
    const { items } = await api.get(`/customers/${encodeURIComponent(customerId)}/messages`, { limit: 20 });
    // A message sent while the list loaded is already on the page, above the older ones.
    const older = items.filter((summary) => !shown.has(summary.id));
    threads.append(...older.map((summary) => threadView(summary, { open: false })));
    if (!threads.childElementCount) {
      const empty = note(t("customer.messages.none"));
      empty.classList.add("threads-empty");
      threads.append(empty);
    }
  } catch (error) {
    showProblem(threads, error);
  }
}

function composeForm(customerId, onSent) {
  const form = h("form", { class: "panel", "aria-labelledby": "compose-title", novalidate: true });
  // One key per message the owner writes: a retry after a lost answer sends it only once.
  let key = null;
  fill(
    form,
    h("h3", { id: "compose-title" }, t("customer.messages.new")),
    field({ label: t("customer.messages.subject"), name: "subject", required: true }),
    field({ label: t("customer.messages.body"), name: "body", type: "textarea", required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("customer.messages.send"))),
  );
  form.addEventListener("input", () => {
    key = null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { subject: form.elements.subject.value.trim() || null, body: form.elements.body.value.trim() || null };
    // The API refuses a message without subject or body as a whole (it also takes a template
    // instead); here the owner writes both, so each empty one is named next to its box.
    const empty = Object.keys(body).filter((name) => !body[name]);
    if (empty.length) {
      showProblem(form, new api.ApiProblem(422, { type: "validation-error", errors: empty.map((name) => ({ field: name, code: "missing", reason: "Required" })) }));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    key = key || api.idempotencyKey();
    button.disabled = true;
    try {
      const thread = await api.post(`/customers/${encodeURIComponent(customerId)}/messages`, body, { "Idempotency-Key": key });
      clearProblems(form);
      form.reset();
      key = null;
      toast(t("customer.messages.sent"));
      onSent(thread);
    } catch (error) {
      showProblem(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function threadView(summary, { open, fresh }) {
  const titleId = `thread-${summary.id}`;
  const body = h("div", { class: "thread-body", id: `${titleId}-body` });
  const count = typeof summary.messages === "number" ? summary.messages : summary.messages.length;
  const toggle = h(
    "button",
    { type: "button", class: "link", "aria-expanded": "false", "aria-controls": `${titleId}-body` },
    summary.subject,
  );
  const article = h(
    "article",
    { class: "thread", "aria-labelledby": titleId },
    h("h3", { id: titleId }, toggle),
    h("p", { class: "note" }, t("customer.messages.summary", { count, when: dateTime(summary.last_at) }), summary.last_direction === "inbound" ? [" · ", h("span", { class: "badge ok" }, t("customer.messages.replied"))] : null),
    body,
  );
  async function show(thread) {
    toggle.setAttribute("aria-expanded", "true");
    fill(body, messagesList(thread), replyForm(thread, show), h("button", { type: "button", onclick: () => load() }, t("customer.messages.refresh")));
  }
  async function load() {
    try {
      await show(await api.get(`/messages/${encodeURIComponent(summary.id)}`));
    } catch (error) {
      showProblem(body, error);
    }
  }
  toggle.addEventListener("click", () => {
    if (toggle.getAttribute("aria-expanded") === "true") {
      toggle.setAttribute("aria-expanded", "false");
      fill(body);
    } else {
      load();
    }
  });
  if (open && fresh) show(fresh);
  else if (open) load();
  return article;
}

function messagesList(thread) {
  return h(
    "ol",
    { class: "messages", "aria-label": t("customer.messages.in_thread", { subject: thread.subject }) },
    thread.messages.map((message) =>
      h(
        "li",
        { class: message.direction === "inbound" ? "reply" : "sent", dataset: { direction: message.direction } },
        h(
          "p",
          { class: "note" },
          h("strong", {}, t(`customer.messages.direction.${message.direction === "inbound" ? "inbound" : "outbound"}`)),
          " · ",
          h("time", { datetime: message.at }, dateTime(message.at)),
        ),
        h("p", { class: "message-text" }, message.text),
        message.attachments && message.attachments.length
          ? h("ul", {}, message.attachments.map((a) => h("li", {}, t("customer.messages.attachment", { name: a.filename, size: number(a.size) }))))
          : null,
      ),
    ),
  );
}

function replyForm(thread, show) {
  const form = h("form", { class: "reply-box", novalidate: true });
  const reply = field({ label: t("customer.messages.reply", { subject: thread.subject }), name: "body", type: "textarea", required: true });
  fill(form, reply, h("div", { class: "actions" }, h("button", { type: "submit" }, t("customer.messages.send_reply"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const updated = await api.post(`/messages/${encodeURIComponent(thread.id)}/replies`, { body: form.elements.body.value.trim() });
      toast(t("customer.messages.sent"));
      await show(updated);
    } catch (error) {
      button.disabled = false;
      showProblem(form, error);
    }
  });
  return form;
}
