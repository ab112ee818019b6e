// A range of days as the revenue pages take it from the address: `from` included, `to` excluded (as the API
// takes revenue ranges, so that months tile), UTC; the last calendar month when the address gives none.

import { AddressError, dayParameter } from "./address.js";
import { day, h } from "./dom.js";

const isoDay = (date) => date.toISOString().slice(0, 10);

/** The first day (UTC) of the month `back` months before the current one. */
function monthStart(back) {
  const now = new Date();
  return isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)));
}

/** The last `months` whole calendar months, the current one not included. */
export function lastMonths(months) {
  return { from: monthStart(months), to: monthStart(0) };
}

export const QUICK = [[1, "Last month"], [3, "Last 3 months"], [12, "Last 12 months"]];

/** The range in the address: both days or neither (then the last calendar month). The API judges the rest. */
export function rangeOf(params) {
  const from = dayParameter(params, "from");
  const to = dayParameter(params, "to");
  if (Boolean(from) !== Boolean(to)) {
    const [given, missing] = from ? ["from", "to"] : ["to", "from"];
    throw new AddressError(given, params.get(given), `needs ${missing} as well (give both days, or neither)`);
  }
  return from ? { from, to } : lastMonths(1);
}

/** A day's first instant, as the API's DateTime. */
export const startOf = (isoDate) => `${isoDate}T00:00:00Z`;

/** The day before an ISO day: the last day a range that ends (excluded) on `isoDate` includes. */
export function dayBefore(isoDate) {
  return isoDay(new Date(Date.parse(startOf(isoDate)) - 86_400_000));
}

export function rangeWords(range) {
  return `from ${day(range.from)} to ${day(range.to)} (excluded)`;
}

/**
 * The range's form: its two days, any `controls` (label and field pairs) of the page, *Show*; and the quick
 * choices as links. `urlOf(range)` gives the page's address for a range; `submit(range)` goes there.
 */
export function rangeForm(range, controls, urlOf, submit) {
  const from = h("input", { id: "from", name: "from", type: "date", value: range.from, required: true });
  const to = h("input", { id: "to", name: "to", type: "date", value: range.to, required: true });
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const form = h("form", { class: "filters", "aria-label": "Range" },
    field("from", "From", from), field("to", "To (excluded)", to),
    controls.map(([id, label, control]) => field(id, label, control)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit({ from: from.value, to: to.value });
  });
  const quick = h("nav", { class: "quick", "aria-label": "Quick ranges" },
    QUICK.map(([months, label]) => {
      const choice = lastMonths(months);
      const current = choice.from === range.from && choice.to === range.to;
      return h("a", { href: urlOf(choice), "aria-current": current ? "true" : null }, label);
    }));
  return [form, quick];
}
