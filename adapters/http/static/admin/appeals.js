// Appeals (moderators and admins): the users' appeals of decisions, accepted (the
// content and the account come back) or rejected, with a reason.
import { api } from "./api.js";
import { $, fill, h, listing, options, say, when } from "./dom.js";
import { APPEAL_STATUSES } from "./enums.js";

let session;
let reload;

export function mount(s) {
  session = s;
  fill($("appeal-status"), options([...APPEAL_STATUSES, "all"], "pending"));
  reload = listing({
    form: $("appeal-filter"), more: $("appeals-more"), line: $("appeal-line"),
    rows: $("appeals"), render: item, failed: session.failed,
    load: (cursor) => api("/v1/mod/appeals", {
      query: { status: $("appeal-status").value, cursor },
    }),
    counted: (n) => (n ? `${n} appeal(s)` : "No appeals."),
  });
}

export function show() {
  return reload();
}

function item(a) {
  const line = h("p", { role: "status" });
  const reason = h("input", {
    type: "text", required: true, maxlength: "500", placeholder: "Reason (the user is told)",
  });
  const decide = (accept) => async (event) => {
    event.preventDefault();
    if (!reason.reportValidity()) return;
    try {
      const done = await api(`/v1/mod/appeals/${a.id}/decide`, {
        method: "POST", body: { accept, reason: reason.value },
      });
      await reload();
      say($("appeal-line"), `Appeal #${done.id} ${done.status}.`);
    } catch (error) {
      session.failed(error, line);
    }
  };
  return h("article", { class: "card", dataset: { appeal: a.id } },
    h("header", {},
      h("h4", {}, `Appeal #${a.id}`),
      h("span", { class: "muted" }, `user #${a.user_id} · ${when(a.created_at)} · ${a.status}`),
      h("button", { class: "link", onclick: () => session.openCase(a.case_id) },
        `Open case #${a.case_id}`)),
    h("p", { class: "body" }, a.body),
    a.status === "pending"
      ? h("form", { class: "inline" }, reason,
        h("button", { type: "submit", onclick: decide(true) }, "Accept"),
        h("button", { type: "submit", class: "secondary", onclick: decide(false) }, "Reject"),
        line)
      : h("p", { class: "muted" },
        `Decided by #${a.decided_by} on ${when(a.decided_at)}: `, h("em", {}, a.decision_reason ?? "")));
}
