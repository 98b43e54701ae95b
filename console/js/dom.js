// Builds DOM nodes from data without ever parsing it as HTML: customer names and notes come
// from the internet, so text always goes in as text nodes (no innerHTML anywhere).

/**
 * h('button', {class: 'primary', onclick: fn, 'aria-label': 'Close'}, 'text', child, [more])
 * Attributes: `class`, `for`, `on<event>` (listeners), booleans (true sets, false/null skips),
 * `dataset` (object), anything else as an attribute.
 */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "value" && "value" in node) {
      node.value = value;
    } else if (name === "checked" || name === "selected" || name === "indeterminate") {
      node[name] = Boolean(value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Replaces a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let counter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}
