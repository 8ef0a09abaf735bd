// Small DOM helpers for the staff interface. Everything that came from a user (names,
// descriptions, report notes, appeal texts) goes into the page as text nodes or
// attribute values, never as HTML: nothing here parses markup.

export const $ = (id) => document.getElementById(id);

// h("tr", {class: "row", dataset: {id: 3}, onclick: fn}, "text", child, ...)
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") {
      for (const [name, v] of Object.entries(value)) node.dataset[name] = String(v);
    } else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "hidden" || key === "disabled") {
      node[key] = value;
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function options(values, selected, labels = {}) {
  return values.map((v) => h("option", { value: v, selected: v === selected }, labels[v] ?? v));
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`;
}

// Shows a message in a status element: ok (role=status) or an error.
export function say(node, message, error = false) {
  node.textContent = message;
  node.classList.toggle("error", error);
}

// A "More" button that appends the next keyset page of a list.
export function pager(button, load) {
  let cursor = null;
  button.addEventListener("click", () => load(cursor));
  return (next) => {
    cursor = next;
    button.hidden = !next;
  };
}
