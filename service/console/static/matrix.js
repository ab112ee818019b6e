// The department matrix: how often each pair of departments contradicted each other over a period,
// as a heat map whose cells open the findings behind them.

import { day, h, moment, show, words } from "./dom.js";
import { query } from "./graphql.js";
import { DEPARTMENTS } from "./timeline.js";
import { AddressError, dayParameter } from "./address.js";

const FINDINGS_PAGE = 100, FINDINGS_PAGES = 20;
const RULE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const MATRIX = `
query ConsoleMatrix($from: DateTime, $to: DateTime) {
  departmentMatrix(from: $from, to: $to) { departments findings openFindings accountsAffected }
}`;
const FINDINGS = `
query ConsoleCellFindings($department: Department, $rule: String, $after: String) {
  findings(department: $department, rule: $rule, state: ALL, first: ${FINDINGS_PAGE}, after: $after) {
    edges { node { id accountId rule severity departments summary detectedAt resolvedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The period as the URL gives it: each end a day (UTC), both included; either may be open. */
function periodOf(search) {
  const params = new URLSearchParams(search);
  const from = dayParameter(params, "from");
  const to = dayParameter(params, "to");  // the API says when from is after to
  const cell = (params.get("cell") || "").split(",").filter(Boolean);
  if (cell.length > 2 || cell.some((d) => !DEPARTMENTS.includes(d))) {
    throw new AddressError("cell", params.get("cell"), `is not one or two of ${DEPARTMENTS.join(", ")}, separated by a comma`);
  }
  const rule = params.get("rule") || "";
  if (rule && !RULE.test(rule)) throw new AddressError("rule", rule, "is not a rule id (lower-case words joined by hyphens)");
  if (rule && cell.length) throw new AddressError("rule", rule, "cannot be shown with a cell: choose one");
  return { from, to, fromInstant: from ? `${from}T00:00:00Z` : null, toInstant: to ? `${to}T23:59:59Z` : null, cell, rule };
}

function urlOf(period, cell) {
  const params = new URLSearchParams();
  if (period.from) params.set("from", period.from);
  if (period.to) params.set("to", period.to);
  if (cell?.length) params.set("cell", cell.join(","));
  const text = params.toString();
  return text ? `/matrix?${text}` : "/matrix";
}

/** A pair's key in the API's order of departments (a single department is its own key). */
const keyOf = (departments) => [...departments].sort((a, b) => DEPARTMENTS.indexOf(a) - DEPARTMENTS.indexOf(b)).join(",");

export async function renderMatrix(main, navigate) {
  const period = periodOf(location.search);
  const { departmentMatrix } = await query(MATRIX, { from: period.fromInstant, to: period.toInstant });
  const counts = new Map(departmentMatrix.map((row) => [keyOf(row.departments), row]));
  const most = Math.max(1, ...departmentMatrix.map((row) => row.findings));
  document.title = "Department matrix · cx360";
  show(main,
    h("h1", {}, "Where departments contradict each other"),
    periodForm(period, navigate),
    h("p", {}, "Findings detected in the period for each pair of departments (a department with itself: rules that name one). ",
      "Choose a cell to see its findings."),
    heatMap(counts, most, period),
    period.cell.length ? await cellFindings(period) : null,
    period.rule ? await ruleFindings(period) : null);
}

function periodForm(period, navigate) {
  const from = h("input", { id: "from", type: "date", value: period.from });
  const to = h("input", { id: "to", type: "date", value: period.to });
  const form = h("form", { class: "as-of", "aria-label": "Period" },
    h("label", { for: "from" }, "From"), from, h("label", { for: "to" }, "to"), to,
    h("button", { type: "submit" }, "Show"),
    period.from || period.to ? h("a", { href: "/matrix" }, "All time") : null);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(urlOf({ from: from.value, to: to.value }));
  });
  return form;
}

function heatMap(counts, most, period) {
  return h("table", { class: "matrix" },
    h("caption", {}, `Findings ${period.from || period.to ? `from ${period.from ? day(period.from) : "the start"} to ${period.to ? day(period.to) : "now"}` : "of all time"}`),
    h("thead", {}, h("tr", {}, h("td", {}), DEPARTMENTS.map((d) => h("th", { scope: "col" }, words(d))))),
    h("tbody", {}, DEPARTMENTS.map((row, r) => h("tr", {},
      h("th", { scope: "row" }, words(row)),
      DEPARTMENTS.map((column, c) => {
        if (c < r) return h("td", { class: "mirror" });
        const cell = r === c ? [row] : [row, column];
        const count = counts.get(cell.join(","));
        const chosen = keyOf(period.cell) === cell.join(",");
        const n = count ? count.findings : 0;  // the visible text starts the name (WCAG 2.5.3)
        const label = `${n} findings, ${cell.map(words).join(" and ")}` +
          (count ? `: ${count.openFindings} still open, ${count.accountsAffected} accounts` : "");
        return h("td", { class: chosen ? "cell chosen" : "cell", style: `--heat: ${count ? count.findings / most : 0}` },
          h("a", { href: urlOf(period, cell), "aria-label": label, "aria-current": chosen ? "true" : null, title: label },
            String(n)));
      })))));
}

/** The findings behind a cell: the API's findings of the cell's first department, kept here when they
 * name exactly the cell's departments (or, for a pair, include both) and were detected in the period. */
async function cellFindings(period) {
  const [first, second] = period.cell;
  const fits = (f) => (second ? f.departments.includes(second) : f.departments.length === 1);
  const found = await detectedIn(period, { department: first }, fits);
  return findingList(`${period.cell.map(words).join(" and ")}: ${found.length} findings`, found);
}

/** The findings of one rule detected in the period (the links of the CX impact page lead here). */
async function ruleFindings(period) {
  const found = await detectedIn(period, { rule: period.rule }, () => true);
  return findingList(`Rule ${period.rule}: ${found.length} findings`, found);
}

/** The API's findings (all states, the most recently detected first) that `fit` and were detected in the period;
 * reading stops once they are older than the period. */
async function detectedIn(period, filter, fits) {
  const start = period.fromInstant ? Date.parse(period.fromInstant) : -Infinity;
  const end = period.toInstant ? Date.parse(period.toInstant) : Infinity;
  const inPeriod = (instant) => Date.parse(instant) >= start && Date.parse(instant) <= end;
  const found = [];
  let after = null;
  for (let page = 0; page < FINDINGS_PAGES; page += 1) {
    const { findings } = await query(FINDINGS, { ...filter, after });
    const nodes = findings.edges.map((edge) => edge.node);
    found.push(...nodes.filter((f) => fits(f) && inPeriod(f.detectedAt)));
    const oldest = nodes.at(-1)?.detectedAt;
    if (!findings.pageInfo.hasNextPage || (oldest && Date.parse(oldest) < start)) break;
    after = findings.pageInfo.endCursor;
  }
  return found;
}

function findingList(title, found) {
  return h("section", { "aria-labelledby": "cell-title", class: "findings" },
    h("h2", { id: "cell-title" }, title),
    found.length ? h("ul", {}, found.map((f) => h("li", { class: "finding" },
      h("p", {}, h("span", { class: `severity ${f.severity}` }, words(f.severity)), " ", h("strong", {}, f.summary)),
      h("p", { class: "meta" }, h("a", { href: `/accounts/${encodeURIComponent(f.accountId)}` }, f.accountId),
        ` · ${f.rule} · detected ${moment(f.detectedAt)}`, f.resolvedAt ? ` · resolved ${moment(f.resolvedAt)}` : " · open"))))
      : h("p", {}, "None."));
}
