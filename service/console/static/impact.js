// CX impact over a range: accounts with a contradiction against accounts without (`cxImpact`), and the revenue
// that stood beside contradictions (`contradictionsCost`). An association, never proof of a cause.

import { h, show, words } from "./dom.js";
import { query } from "./graphql.js";
import { grouped, percent } from "./money.js";
import { dayBefore, rangeForm, rangeOf, rangeWords, startOf } from "./range.js";

const TALLY = "amounts { amount currency } events accounts unknownAmounts";
const IMPACT = `
query ConsoleImpact($from: DateTime!, $to: DateTime!) {
  cxImpact(from: $from, to: $to) {
    scope withAccounts withoutAccounts tooSmall
    comparisons { metric currency withValue withoutValue difference low high withAccounts withoutAccounts tooSmall reading }
  }
  contradictionsCost(from: $from, to: $to) {
    byRule { rule convertedWhileOpen { ${TALLY} } lostAfterHigh { ${TALLY} } }
    byDepartmentPair { departments convertedWhileOpen { ${TALLY} } lostAfterHigh { ${TALLY} } }
  }
}`;

const METRICS = {
  WON_REVENUE: { name: "Won revenue per account", value: (v) => grouped(v.toFixed(2)), change: (v) => grouped(v.toFixed(2)) },
  CHURN_RATE: { name: "Churn", value: percent, change: points },
  NET_REVENUE_RETENTION: { name: "Net revenue retention", value: percent, change: points },
  AVERAGE_HEALTH: { name: "Average health now", value: (v) => v.toFixed(1), change: (v) => v.toFixed(1) },
};

/** A difference of two shares, in percentage points. */
function points(share) {
  return `${(share * 100).toFixed(1)} pts`;
}

const signed = (text) => (text.startsWith("-") ? `−${text.slice(1)}` : `+${text}`);

const urlOf = (range) => `/impact?${new URLSearchParams(range)}`;

/** The findings behind a row, detected in the range: the department matrix over the range's days (both
 * included there) with a rule's findings or a pair's cell. */
function findingsUrl(range, option) {
  const params = new URLSearchParams({ from: range.from, to: dayBefore(range.to), ...option });
  return `/matrix?${params}`;
}

export async function renderImpact(main, navigate) {
  const range = rangeOf(new URLSearchParams(location.search));
  const data = await query(IMPACT, { from: startOf(range.from), to: startOf(range.to) });
  document.title = "CX impact · cx360";
  show(main,
    h("h1", {}, "CX impact"),
    rangeForm(range, [], urlOf, (chosen) => navigate(urlOf(chosen))),
    h("p", { class: "caution" }, `Accounts with a contradiction open ${rangeWords(range)} against accounts without. `,
      "Read it as an association, never as a cause: accounts in trouble draw contradictions, and contradictions may ",
      "come of the trouble. An interval that holds 0 is a difference the data cannot tell from none."),
    data.cxImpact.map((scope) => scopeSection(scope, range)),
    costSection(data.contradictionsCost, range));
}

function scopeTitle(scope) {
  return scope.scope === "HIGH" ? "Any HIGH finding" : `Rule ${scope.scope}`;
}

function scopeSection(scope, range) {
  const id = `scope-${scope.scope}`;
  const against = scope.scope === "HIGH" ? "accounts with none"
    : "accounts with neither a HIGH finding nor one of this rule";
  return h("section", { "aria-labelledby": id, class: "scope", "data-scope": scope.scope },
    h("h2", { id }, scopeTitle(scope)),
    h("p", {}, `${scope.withAccounts} accounts with it, against ${scope.withoutAccounts} ${against}.`,
      scope.tooSmall ? " A group under 30 accounts is too small to read: its values are given, with no interval." : "",
      scope.scope === "HIGH" ? "" : [" ", h("a", { href: findingsUrl(range, { rule: scope.scope }) }, `Findings of ${scope.scope} detected in the range`)]),
    h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `${scopeTitle(scope)}: comparisons` },
      h("table", { class: "impact" },
        h("caption", {}, `${scopeTitle(scope)}: with against without`),
        h("thead", {}, h("tr", {}, ["Outcome", "With", "Without", "Difference", "95% interval", "Accounts (with / without)", "Reading"]
          .map((heading, i) => h("th", { scope: "col", class: i && i < 6 ? "number" : null }, heading)))),
        h("tbody", {}, scope.comparisons.map(comparisonRow)))));
}

function comparisonRow(c) {
  const metric = METRICS[c.metric];
  const value = (v) => (v === null ? "–" : metric.value(v));
  const interval = c.tooSmall || c.low === null ? "too small to read"
    : `${signed(metric.change(c.low))} to ${signed(metric.change(c.high))}`;
  return h("tr", { "data-metric": c.metric, "data-currency": c.currency ?? "" },
    h("th", { scope: "row" }, metric.name, c.currency ? ` (${c.currency})` : ""),
    h("td", { class: "number" }, value(c.withValue)),
    h("td", { class: "number" }, value(c.withoutValue)),
    h("td", { class: "number" }, c.difference === null ? "–" : signed(metric.change(c.difference))),
    h("td", { class: "number" }, interval),
    h("td", { class: "number" }, `${c.withAccounts} / ${c.withoutAccounts}`),
    h("td", { class: "reading" }, c.reading));
}

function costSection(cost, range) {
  return h("section", { "aria-labelledby": "cost-title" },
    h("h2", { id: "cost-title" }, "What contradictions stand beside"),
    h("p", {}, "Converted while open: conversions and renewals at whose instant such a finding was open on the account. ",
      "Lost after HIGH: opportunities lost and subscriptions cancelled in the 90 days after such a HIGH finding. ",
      "Each event counts once per row; amounts per currency."),
    costTable("By rule", "Rule", cost.byRule, (row) => h("a", { href: findingsUrl(range, { rule: row.rule }) }, row.rule)),
    costTable("By department pair", "Departments", cost.byDepartmentPair,
      (row) => h("a", { href: findingsUrl(range, { cell: row.departments.join(",") }) }, row.departments.map(words).join(" and "))));
}

function costTable(caption, heading, rows, name) {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: no finding stood beside revenue in this range.`);
  return h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Cost ${caption.toLowerCase()}` },
    h("table", { class: "cost" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, [heading, "Converted while open", "Lost after HIGH"].map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows.map((row) => h("tr", {},
        h("th", { scope: "row" }, name(row)),
        h("td", { class: "converted" }, tally(row.convertedWhileOpen)),
        h("td", { class: "lost" }, tally(row.lostAfterHigh)))))));
}

function tally(t) {
  const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;
  return [
    t.amounts.length ? h("ul", { class: "amounts" }, t.amounts.map((m) =>
      h("li", { "data-currency": m.currency }, `${grouped(m.amount)} ${m.currency}`))) : h("p", {}, "none"),
    h("small", {}, `${plural(t.events, "event")}, ${plural(t.accounts, "account")}`,
      t.unknownAmounts ? `, ${plural(t.unknownAmounts, "amount")} never known` : ""),
  ];
}
