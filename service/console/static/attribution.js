// Revenue attribution over a range: per currency, what each department, channel, campaign or actor is credited
// with by a model, with the conversions and touches it comes from; and how the six models share it out.

import { h, show, words } from "./dom.js";
import { query } from "./graphql.js";
import { barChart } from "./charts.js";
import { choiceParameter } from "./address.js";
import { grouped, percent, sum } from "./money.js";
import { rangeForm, rangeOf, rangeWords, startOf } from "./range.js";

export const MODELS = ["DATA_DRIVEN", "FIRST_TOUCH", "LAST_TOUCH", "LINEAR", "TIME_DECAY", "POSITION_BASED"];
const GROUPS = ["DEPARTMENT", "CHANNEL", "CAMPAIGN", "ACTOR"];
const DEPARTMENTS = ["marketing", "sales", "product", "support", "billing"];  // the API's order
const UNATTRIBUTED = "unattributed";
const NO_GROUP = { DEPARTMENT: "no department", CHANNEL: "no channel", CAMPAIGN: "no campaign", ACTOR: "no actor named" };

const TOTALS = `
query ConsoleAttribution($model: AttributionModel!, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroup!) {
  attribution(model: $model, from: $from, to: $to, groupBy: $groupBy) {
    currency group unattributed amount conversions touches
  }
  ${MODELS.map((model) => `${model.toLowerCase()}: attribution(model: ${model}, from: $from, to: $to, groupBy: DEPARTMENT) {
    currency group unattributed amount
  }`).join("\n  ")}
}`;

/** The page's state as the address carries it, so that a view can be shared. */
function stateOf(search) {
  const params = new URLSearchParams(search);
  return {
    ...rangeOf(params),
    model: choiceParameter(params, "model", MODELS) || "DATA_DRIVEN",
    groupBy: choiceParameter(params, "groupBy", GROUPS) || "DEPARTMENT",
  };
}

const urlOf = (state) => `/attribution?${new URLSearchParams(state)}`;

export async function renderAttribution(main, navigate) {
  const state = stateOf(location.search);
  const data = await query(TOTALS, { model: state.model, groupBy: state.groupBy, from: startOf(state.from), to: startOf(state.to) });
  const currencies = [...new Set(data.attribution.map((row) => row.currency))];
  document.title = "Attribution · cx360";
  show(main,
    h("h1", {}, "Revenue attribution"),
    form(state, navigate),
    h("p", {}, `Conversions ${rangeWords(state)}, credited to the touches before them by the ${words(state.model)} model. ` +
      "Amounts in different currencies are never added together."),
    currencies.length
      ? currencies.map((currency) => currencySection(currency, data.attribution.filter((r) => r.currency === currency), state))
      : h("p", { class: "empty" }, "No conversion in this range."),
    comparison(data, currencies));
}

function choice(id, value, options) {
  return h("select", { id, name: id }, options.map((option) => h("option", { value: option, selected: option === value }, words(option))));
}

function form(state, navigate) {
  const model = choice("model", state.model, MODELS);
  const groupBy = choice("groupBy", state.groupBy, GROUPS);
  return rangeForm(state, [["model", "Model", model], ["groupBy", "Group by", groupBy]],
    (range) => urlOf({ ...state, ...range }),
    (range) => navigate(urlOf({ ...range, model: model.value, groupBy: groupBy.value })));
}

/** The groups in the API's order (largest amount first), the unattributed revenue last, as a row of its own. */
function ordered(rows) {
  return [...rows.filter((row) => !row.unattributed), ...rows.filter((row) => row.unattributed)];
}

function label(row, groupBy) {
  if (row.unattributed) return "unattributed (no touch before it)";
  return row.group ?? NO_GROUP[groupBy];
}

function currencySection(currency, rows, state) {
  const total = sum(rows.map((row) => row.amount));
  const id = `currency-${currency}`;
  const shown = ordered(rows);
  return h("section", { "aria-labelledby": id, class: "currency", "data-currency": currency },
    h("h2", { id }, `${currency}: ${grouped(total)}`),
    barChart(shown.map((row) => ({ label: label(row, state.groupBy), value: Number(row.amount),
      text: `${grouped(row.amount)} ${currency}`, muted: row.unattributed })),
    `${currency} revenue by ${words(state.groupBy)}: ` +
      shown.map((row) => `${label(row, state.groupBy)} ${grouped(row.amount)}`).join(", ")),
    h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `${currency} table, scrolls sideways on a small screen` },
      h("table", { class: "groups" },
        h("caption", {}, `${currency} credited by ${words(state.groupBy)}`),
        h("thead", {}, h("tr", {}, [capital(words(state.groupBy)), `Amount (${currency})`, "Share", "Conversions", "Touches"]
          .map((heading, i) => h("th", { scope: "col", class: i ? "number" : null }, heading)))),
        h("tbody", {}, shown.map((row) => h("tr", { class: row.unattributed ? UNATTRIBUTED : null },
          h("th", { scope: "row" }, label(row, state.groupBy)),
          h("td", { class: "number" }, grouped(row.amount)),
          h("td", { class: "number" }, percent(share(row.amount, total))),
          h("td", { class: "number" }, row.conversions),
          h("td", { class: "number" }, row.touches)))))));
}

/** Every model's share per department of each currency's revenue in the range (the unattributed in its own row). */
function comparison(data, currencies) {
  if (!currencies.length) return null;
  return h("section", { "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title" }, "Compare models"),
    h("p", {}, "Each model's share of the range's revenue, per department: the same revenue, shared out differently."),
    currencies.map((currency) => {
      const shares = Object.fromEntries(MODELS.map((model) => [model, sharesOf(data[model.toLowerCase()], currency)]));
      const keys = [...DEPARTMENTS, UNATTRIBUTED].filter((key) => MODELS.some((model) => key in shares[model]));
      return h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Models compared in ${currency}` },
        h("table", { class: "compare", "data-currency": currency },
          h("caption", {}, `Share of ${currency} revenue`),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Department"),
            MODELS.map((model) => h("th", { scope: "col", class: "number" }, words(model))))),
          h("tbody", {}, keys.map((key) => h("tr", {},
            h("th", { scope: "row" }, key),
            MODELS.map((model) => h("td", { class: "number" }, key in shares[model] ? percent(shares[model][key]) : "–")))))));
    }));
}

function sharesOf(rows, currency) {
  const mine = rows.filter((row) => row.currency === currency);
  const total = sum(mine.map((row) => row.amount));
  return Object.fromEntries(mine.map((row) => [row.unattributed ? UNATTRIBUTED : row.group, share(row.amount, total)]));
}

/** An amount's share of a total (0 for a total of 0). */
function share(amount, total) {
  return Number(total) ? Number(amount) / Number(total) : 0;
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
