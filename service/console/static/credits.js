// An account's conversions and each touch's credit for them, by a model the user picks (the account page's card).

import { h, moment, show, words } from "./dom.js";
import { query } from "./graphql.js";
import { grouped } from "./money.js";
import { MODELS } from "./attribution.js";
import { choiceParameter } from "./address.js";

const DEFAULT_MODEL = "DATA_DRIVEN";
const CONVERSIONS = `
query ConsoleConversions($id: ID!, $asOf: DateTime, $model: AttributionModel!) {
  account(id: $id, asOf: $asOf) {
    attribution(model: $model) {
      eventId kind occurredAt amount currency unattributed
      credits { eventId occurredAt department channel campaign actor amount }
    }
  }
}`;

/** The model the address names, or the data-driven one. */
export function modelOf(params) {
  return choiceParameter(params, "model", MODELS) || DEFAULT_MODEL;
}

/**
 * The card, and `load()` that (re-)reads it as of `asOf` (null: now). Picking a model re-reads the card alone and
 * keeps the model in the address, so that a shared link or the as-of form keeps it.
 */
export function creditsCard(id, asOf, model) {
  const body = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const picker = h("select", { id: "model", name: "model" },
    MODELS.map((option) => h("option", { value: option, selected: option === model }, words(option))));
  const card = h("section", { class: "card credits", "aria-labelledby": "credits-title" },
    h("h2", { id: "credits-title" }, "Attribution"),
    h("p", { class: "field inline" }, h("label", { for: "model" }, "Model"), " ", picker),
    body);
  let reads = 0;  // a read answered after a later one began is dropped
  async function load() {
    const read = ++reads;
    try {
      const { account } = await query(CONVERSIONS, { id, asOf, model });
      if (read !== reads) return;
      show(body, conversions(account ? account.attribution : [], asOf));
      card.dataset.model = model;
    } catch (error) {
      if (read === reads) show(body, h("p", { role: "alert", class: "error" }, error.message));
    }
  }
  picker.addEventListener("change", () => {
    model = picker.value;
    const url = new URL(location.href);
    if (model === DEFAULT_MODEL) url.searchParams.delete("model");
    else url.searchParams.set("model", model);
    history.replaceState(null, "", url.pathname + url.search);
    load();
  });
  return { card, load };
}

function conversions(list, asOf) {
  if (!list.length) return h("p", {}, asOf ? "No conversion by then." : "No conversion yet.");
  return h("ol", { class: "conversions" }, list.map((c) => h("li", { "data-conversion": c.eventId },
    h("p", {}, h("strong", {}, `${words(c.kind)}: ${grouped(c.amount)} ${c.currency}`), ` · ${moment(c.occurredAt)}`,
      Number(c.unattributed) ? h("span", { class: "unattributed" },
        ` · unattributed: ${grouped(c.unattributed)} ${c.currency} (no touch in its window)`) : ""),
    c.credits.length ? h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Credits for ${c.eventId}` },
      h("table", { class: "touches" },
        h("caption", {}, `Each touch's credit (${c.currency})`),
        h("thead", {}, h("tr", {}, ["Touch", "Department", "Channel", "Campaign", "Actor", "Credit"]
          .map((text, i) => h("th", { scope: "col", class: i === 5 ? "number" : null }, text)))),
        h("tbody", {}, c.credits.map((t) => h("tr", { "data-event": t.eventId },
          h("td", {}, moment(t.occurredAt)), h("td", {}, t.department), h("td", {}, t.channel),
          h("td", {}, t.campaign ?? "–"), h("td", {}, t.actor ?? "–"),
          h("td", { class: "number" }, grouped(t.amount))))))) : null)));
}
