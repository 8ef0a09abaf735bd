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

// A filtered, keyset-paginated list: the first page when `form` is sent (or on the
// returned reload()), the next one from the `more` button; `load(cursor)` fetches a page,
// `render(item)` makes its row, `counted(n)` says how many are shown.
export function listing({ form, more, line, rows, load, render, counted, failed }) {
  let cursor = null;
  const run = async (next) => {
    say(line, "Loading…");
    try {
      const page = await load(next);
      if (!next) rows.replaceChildren();
      rows.append(...page.items.map(render));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      say(line, counted(rows.children.length));
    } catch (error) {
      failed(error, line);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(null);
  });
  more.addEventListener("click", () => run(cursor));
  return () => run(null);
}
