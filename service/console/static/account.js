// One account as every department has treated it, now or as it was on a past day, kept live.

import { day, h, moment, show, words } from "./dom.js";
import { query, subscribe } from "./graphql.js";
import { trendChart } from "./charts.js";
import { eventTable, lanes, select } from "./timeline.js";
import { AddressError, dayParameter } from "./address.js";
import { creditsCard, modelOf } from "./credits.js";

const TIMELINE_PAGE = 100, TIMELINE_PAGES = 20;  // at most 2,000 events on the lanes
const REFRESH_MS = 250;  // changes arriving together cause one re-read
const READY = "cx360:account-ready";  // a performance mark once the account is on screen (bench/console_speed.py)

const FINDING = `id rule severity departments summary detectedAt resolvedAt evidence { position type department occurredAt }`;
const ACCOUNT = `
query ConsoleAccount($id: ID!, $asOf: DateTime) {
  account(id: $id, asOf: $asOf) {
    id name viewedAt
    health { score components { name value weight explanation } trend { at score } }
    lifecycle { stage since reason }
    satisfaction { nps responses promoters passives detractors csatAverage csatResponses detractorsNotFollowedUp }
    agentContext {
      billingStanding
      donts { text reason }
      openSeriousTickets { summary }
      thisWeek { department type occurredAt }
    }
    open: findings(state: OPEN) { ${FINDING} }
    resolved: findings(state: RESOLVED) { ${FINDING} }
  }
}`;
const TIMELINE = `
query ConsoleTimeline($id: ID!, $asOf: DateTime, $after: String) {
  account(id: $id, asOf: $asOf) {
    timeline(first: ${TIMELINE_PAGE}, after: $after) {
      edges { node { position type department occurredAt recordedAt actor } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
const FINDING_CHANGED = `
subscription ConsoleFindings($accountId: ID, $after: String) {
  findingChanged(accountId: $accountId, after: $after) { id change changePosition summary }
}`;
const EVENTS = `
subscription ConsoleEvents($accountId: ID, $after: String) {
  events(accountId: $accountId, after: $after) { position type }
}`;

/** The `asOf` of a chosen day: its last second (UTC); none for today or no day, which is now. */
function asOfDay(date) {
  const today = new Date().toISOString().slice(0, 10);
  return !date || date >= today ? null : `${date}T23:59:59Z`;
}

async function read(id, asOf) {
  const data = await query(ACCOUNT, { id, asOf });
  if (!data.account) return null;
  const events = [];
  let after = null;
  for (let page = 0; page < TIMELINE_PAGES; page += 1) {
    const { account } = await query(TIMELINE, { id, asOf, after });
    events.push(...account.timeline.edges.map((edge) => edge.node));
    if (!account.timeline.pageInfo.hasNextPage) break;
    after = account.timeline.pageInfo.endCursor;
  }
  return { ...data.account, events, lastStored: lastStored(events) };
}

/** The position of the account's event stored last: where its `events` subscription starts, so that
 * nothing stored after this read is missed (positions are opaque, stored times are not). */
function lastStored(events) {
  let last = null;
  for (const event of events) {
    if (!last || Date.parse(event.recordedAt) > Date.parse(last.recordedAt)) last = event;
  }
  return last ? last.position : null;
}

/** Render the account; returns the function that stops its live updates. */
export async function renderAccount(main, id, navigate, notFound) {
  const params = new URLSearchParams(location.search);
  const chosen = dayParameter(params, "asOf");
  if (chosen > new Date().toISOString().slice(0, 10)) throw new AddressError("asOf", chosen, "is in the future");
  const asOf = asOfDay(chosen);
  const credits = creditsCard(id, asOf, modelOf(params));
  const account = await read(id, asOf);
  if (!account) {
    notFound(`No account has the id “${id}”: no event has named it${asOf ? ` by ${day(asOf)}` : ""}.`);
    return () => {};
  }
  const status = h("p", { class: "live", role: "status" }, asOf ? "Live updates are off while showing a past day." : "Connecting…");
  const content = h("div", { class: "account" });
  document.title = `${account.name || account.id} · cx360`;
  show(main, h("h1", {}, account.name || account.id), asOfForm(id, chosen, navigate), status, content, credits.card);
  draw(content, account);
  performance.mark(READY);
  credits.load();  // after the mark: the card's read (the data-driven model learns first) does not hold up the page
  return asOf ? () => {} : follow(id, content, status, account.lastStored, credits.load);
}

/** The account now, with the attribution card's model kept as it is in the address. */
function nowAddress(id) {
  const model = new URLSearchParams(location.search).get("model");
  return `/accounts/${encodeURIComponent(id)}${model ? `?${new URLSearchParams({ model })}` : ""}`;
}

/** The link back to now: its address is taken again as it is used, since the card's model may change meanwhile. */
function backToNow(id) {
  const link = h("a", { href: nowAddress(id) }, "Back to now");
  const refresh = () => { link.href = nowAddress(id); };
  for (const kind of ["pointerdown", "focus", "click"]) link.addEventListener(kind, refresh);  // before the router
  return link;
}

function asOfForm(id, chosen, navigate) {
  const today = new Date().toISOString().slice(0, 10);
  const input = h("input", { id: "as-of", name: "asOf", type: "date", max: today, value: chosen || today });
  const form = h("form", { class: "as-of", "aria-label": "Show the account as of a day" },
    h("label", { for: "as-of" }, "As of"), input, h("button", { type: "submit" }, "Show"),
    chosen ? backToNow(id) : null);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (asOfDay(input.value)) params.set("asOf", input.value);
    const model = new URLSearchParams(location.search).get("model");  // the attribution card's, kept
    if (model) params.set("model", model);
    navigate(`/accounts/${encodeURIComponent(id)}${params.size ? `?${params}` : ""}`);
  });
  return form;
}

/**
 * Subscribe to the account's finding changes and events; each re-reads the account and its attribution card
 * (once per burst).
 * `events` starts after the last event the first read saw. `findingChanged` can only start from now
 * (no query gives a change position), so the account is read again once it is live.
 */
function follow(id, content, status, lastStored, reloadCredits) {
  const after = { findings: null, events: lastStored };  // the last positions seen: a reconnection resumes after them
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const account = await read(id, null);
        if (account) draw(content, account);
        reloadCredits();
      } catch (error) {
        status.textContent = `Could not refresh: ${error.message}`;
      }
    }, REFRESH_MS);
  };
  let first = true;
  const heard = (text) => {
    status.textContent = text === "live" ? "Live: changes appear as they happen." : text;
    if (text === "live" && first) {
      first = false;
      refresh();  // what changed between the first read and now
    }
  };
  const stops = [
    subscribe(FINDING_CHANGED, () => ({ accountId: id, after: after.findings }), (data) => {
      after.findings = data.findingChanged.changePosition;
      status.textContent = `Finding ${words(data.findingChanged.change)}: ${data.findingChanged.summary}`;
      refresh();
    }, heard),
    subscribe(EVENTS, () => ({ accountId: id, after: after.events }), (data) => {
      after.events = data.events.position;
      refresh();
    }, (text) => {
      if (text !== "live" && text !== "reconnecting…") status.textContent = text;  // its refusals; the other says the rest
    }),
  ];
  return () => {
    clearTimeout(timer);
    stops.forEach((stop) => stop());
  };
}

function draw(content, account) {
  const evidence = new Set([...account.open, ...account.resolved].flatMap((f) => f.evidence.map((e) => e.position)));
  const chart = lanes(account.events, evidence, account.viewedAt);
  show(content,
    header(account),
    h("div", { class: "columns" },
      agentCard(account.agentContext),
      healthCard(account.health)),
    h("section", { "aria-labelledby": "timeline-title" },
      h("h2", { id: "timeline-title" }, "Timeline"),
      h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "Timeline chart, scrolls sideways" }, chart),
      eventTable(account.events, evidence)),
    findingsSection("Open findings", "open", account.open, chart),
    findingsSection("Resolved findings", "resolved", account.resolved, chart));
}

function header(account) {
  const sat = account.satisfaction;
  const fact = (label, value, detail) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value, detail ? h("small", {}, detail) : null));
  return h("dl", { class: "facts" },
    fact("Health", account.health?.score ?? "–", "out of 100"),
    fact("Lifecycle", words(account.lifecycle?.stage) || "–",
      account.lifecycle ? `${account.lifecycle.since ? `since ${day(account.lifecycle.since)}. ` : ""}${account.lifecycle.reason}` : null),
    fact("NPS", sat?.nps ?? "–", sat ? `${sat.responses} responses: ${sat.promoters} promoters, ${sat.passives} passives, ` +
      `${sat.detractors} detractors (${sat.detractorsNotFollowedUp} not followed up)` : null),
    fact("CSAT", sat?.csatAverage != null ? sat.csatAverage.toFixed(1) : "–", sat ? `${sat.csatResponses} responses, out of 5` : null),
    fact("Viewed at", moment(account.viewedAt), `id ${account.id}`));
}

function agentCard(context) {
  if (!context) return h("section", { class: "card" }, h("h2", {}, "Before you call"), h("p", {}, "No agent context yet."));
  return h("section", { class: "card agent", "aria-labelledby": "agent-title" },
    h("h2", { id: "agent-title" }, "Before you call"),
    context.donts.length
      ? h("ul", { class: "donts", "aria-label": "Don'ts" }, context.donts.map((w) =>
        h("li", {}, h("strong", {}, w.text), h("small", {}, ` (${words(w.reason)})`))))
      : h("p", {}, "No don'ts."),
    h("h3", {}, "Billing"), h("p", {}, context.billingStanding),
    h("h3", {}, "Open serious tickets"),
    context.openSeriousTickets.length ? h("ul", {}, context.openSeriousTickets.map((t) => h("li", {}, t.summary))) : h("p", {}, "None."),
    h("h3", {}, "This week"),
    context.thisWeek.length
      ? h("ul", {}, context.thisWeek.map((t) => h("li", {}, `${words(t.department)}: ${t.type}, ${moment(t.occurredAt)}`)))
      : h("p", {}, "No department touched the account in the last 7 days."));
}

function healthCard(health) {
  if (!health) return h("section", { class: "card" }, h("h2", {}, "Health"), h("p", {}, "No health score before any event."));
  return h("section", { class: "card", "aria-labelledby": "health-title" },
    h("h2", { id: "health-title" }, "Health"),
    trendChart(health.trend),
    h("table", { class: "components" },
      h("caption", {}, "What makes the score"),
      h("thead", {}, h("tr", {}, ["Component", "Value", "Weight", "Why"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, health.components.map((c) => h("tr", {},
        h("th", { scope: "row" }, words(c.name)), h("td", { class: "number" }, c.value ?? "–"),
        h("td", { class: "number" }, String(c.weight)), h("td", {}, c.explanation))))));
}

function findingsSection(title, key, findings, chart) {
  const titleId = `${key}-title`;
  return h("section", { "aria-labelledby": titleId, class: `findings ${key}` },
    h("h2", { id: titleId }, `${title} (${findings.length})`),
    findings.length ? h("ul", {}, findings.map((f) => finding(f, chart))) : h("p", {}, "None."));
}

function finding(f, chart) {
  const positions = new Set(f.evidence.map((e) => e.position));
  const toggle = h("button", { type: "button", "aria-pressed": "false", class: "evidence-toggle" }, "Mark its evidence on the timeline");
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    for (const other of document.querySelectorAll(".evidence-toggle")) other.setAttribute("aria-pressed", "false");
    toggle.setAttribute("aria-pressed", String(on));
    select(chart, on ? positions : null);
  });
  return h("li", { class: "finding", "data-finding": f.id },
    h("p", {}, h("span", { class: `severity ${f.severity}` }, words(f.severity)), " ", h("strong", {}, f.summary)),
    h("p", { class: "meta" }, `${f.rule} · ${f.departments.map(words).join(" vs ")} · detected ${moment(f.detectedAt)}`,
      f.resolvedAt ? ` · resolved ${moment(f.resolvedAt)}` : ""),
    h("ol", { class: "evidence", "aria-label": "Evidence" }, f.evidence.map((e) =>
      h("li", {}, `${moment(e.occurredAt)} · ${words(e.department)} · ${e.type}`))),
    toggle);
}
