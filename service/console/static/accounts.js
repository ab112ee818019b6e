// The accounts list: filtered and ordered by the API, paged with its cursors.

import { h, show, words } from "./dom.js";
import { query } from "./graphql.js";
import { sparkline } from "./charts.js";
import { choiceParameter, integerParameter } from "./address.js";

const PAGE = 25;
const STAGES = ["PROSPECT", "ONBOARDING", "ACTIVE", "AT_RISK", "CHURNED"];
const SEVERITIES = ["LOW", "MEDIUM", "HIGH"];
const LIFECYCLE = "LIFECYCLE";  // not an API order: the page's rows, sorted here (docs/console.md)

const ACCOUNTS = `
query ConsoleAccounts($first: Int, $after: String, $filter: AccountFilterInput, $orderBy: AccountOrder!) {
  accounts(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node { id name health { score trend { at score } } lifecycle { stage } findings { severity } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const ORDERS = ["ID", "NAME", "HEALTH_ASC", "HEALTH_DESC", "OPEN_FINDINGS_DESC", "SEVERITY_DESC", LIFECYCLE];

// The sortable columns: the order a click on the heading asks for, and what a second click asks for.
const COLUMNS = [
  { label: "Account", orders: ["NAME"] },
  { label: "Health", orders: ["HEALTH_ASC", "HEALTH_DESC"], number: true },
  { label: "Trend (12 weeks)" },
  { label: "Lifecycle", orders: [LIFECYCLE] },
  { label: "Open findings", orders: ["OPEN_FINDINGS_DESC"], number: true },
  { label: "Worst severity", orders: ["SEVERITY_DESC"] },
];

/** The list's state as the URL carries it, so that a view can be shared. */
function stateOf(search) {
  const params = new URLSearchParams(search);
  return {
    search: params.get("search") || "",
    stage: choiceParameter(params, "stage", STAGES),
    minHealth: integerParameter(params, "minHealth"),  // the API says when it is out of 0-100
    maxHealth: integerParameter(params, "maxHealth"),
    findings: choiceParameter(params, "findings", ["with", "without"]),
    minSeverity: choiceParameter(params, "minSeverity", SEVERITIES),
    order: choiceParameter(params, "order", ORDERS) || "HEALTH_ASC",
    after: params.get("after") || "",
  };
}

function urlOf(state) {
  const params = new URLSearchParams(Object.entries(state).filter(([, value]) => value));
  const text = params.toString();
  return text ? `/?${text}` : "/";
}

function filterOf(state) {
  const filter = {};
  if (state.search) filter.search = state.search;
  if (state.stage) filter.stage = state.stage;
  if (state.minHealth !== "") filter.minHealth = Number(state.minHealth);
  if (state.maxHealth !== "") filter.maxHealth = Number(state.maxHealth);
  if (state.findings) filter.hasOpenFindings = state.findings === "with";
  if (state.minSeverity) filter.minSeverity = state.minSeverity;
  return filter;
}

function worst(findings) {
  return findings.reduce((top, f) => (SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(top) ? f.severity : top), "");
}

export async function renderAccounts(main, navigate) {
  const state = stateOf(location.search);
  const server = state.order === LIFECYCLE ? "ID" : state.order;
  const data = await query(ACCOUNTS, { first: PAGE, after: state.after || null, filter: filterOf(state), orderBy: server });
  let nodes = data.accounts.edges.map((edge) => edge.node);
  if (state.order === LIFECYCLE) {
    nodes = [...nodes].sort((a, b) => STAGES.indexOf(a.lifecycle?.stage) - STAGES.indexOf(b.lifecycle?.stage));
  }
  document.title = "Accounts · cx360";
  show(main,
    h("h1", {}, "Accounts"),
    filters(state, navigate),
    table(nodes, state, navigate),
    pager(data.accounts.pageInfo, state, navigate));
}

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

function choice(id, value, options) {
  return h("select", { id, name: id },
    options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
}

function filters(state, navigate) {
  const number = (id) => h("input", { id, name: id, type: "number", min: 0, max: 100, inputmode: "numeric", value: state[id] });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter accounts" },
    field("search", "Name or id", h("input", { id: "search", name: "search", type: "search", value: state.search })),
    field("stage", "Lifecycle", choice("stage", state.stage, [["", "any"], ...STAGES.map((s) => [s, words(s)])])),
    field("minHealth", "Health at least", number("minHealth")),
    field("maxHealth", "Health at most", number("maxHealth")),
    field("findings", "Open findings", choice("findings", state.findings, [["", "any"], ["with", "with"], ["without", "without"]])),
    field("minSeverity", "Severity at least", choice("minSeverity", state.minSeverity,
      [["", "any"], ...SEVERITIES.map((s) => [s, words(s)])])),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Apply"),
      h("button", { type: "button", onclick: () => navigate(urlOf({ order: state.order })) }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    navigate(urlOf({ ...values, order: state.order }));  // a new filter starts at the first page
  });
  return form;
}

function heading(column, state, navigate) {
  if (!column.orders) return h("th", { scope: "col" }, column.label);
  const active = column.orders.includes(state.order);
  const next = active ? column.orders[(column.orders.indexOf(state.order) + 1) % column.orders.length] : column.orders[0];
  const sort = !active ? null : state.order.endsWith("_DESC") ? "descending" : "ascending";
  return h("th", { scope: "col", "aria-sort": sort, class: column.number ? "number" : null },
    h("button", { type: "button", class: "sort", onclick: () => navigate(urlOf({ ...state, order: next, after: "" })) },
      column.label, active ? (sort === "descending" ? " ▼" : " ▲") : ""));
}

function table(nodes, state, navigate) {
  if (!nodes.length) return h("p", { class: "empty" }, "No account matches these filters.");
  return h("table", { class: "accounts" },
    h("caption", {}, state.order === LIFECYCLE ? "Accounts on this page, in lifecycle order" : "Accounts"),
    h("thead", {}, h("tr", {}, COLUMNS.map((column) => heading(column, state, navigate)))),
    h("tbody", {}, nodes.map((node) => h("tr", {},
      h("td", {}, h("a", { href: `/accounts/${encodeURIComponent(node.id)}` }, node.name || node.id),
        h("span", { class: "id" }, node.id)),
      h("td", { class: "number" }, node.health?.score ?? "–"),
      h("td", {}, node.health ? sparkline(node.health.trend) : "–"),
      h("td", {}, h("span", { class: `stage ${node.lifecycle?.stage || ""}` }, words(node.lifecycle?.stage) || "–")),
      h("td", { class: "number" }, node.findings.length),
      h("td", {}, node.findings.length ? h("span", { class: `severity ${worst(node.findings)}` }, words(worst(node.findings))) : "–")))));
}

function pager(pageInfo, state, navigate) {
  return h("nav", { class: "pager", "aria-label": "Pages" },
    state.after ? h("a", { href: urlOf({ ...state, after: "" }) }, "First page") : null,
    pageInfo.hasNextPage ? h("a", { href: urlOf({ ...state, after: pageInfo.endCursor }), rel: "next" }, "Next page") : null);
}
