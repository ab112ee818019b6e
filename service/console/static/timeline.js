// The timeline: five department lanes on one time axis, a finding's evidence marked in place.

import { day, h, moment, s, words } from "./dom.js";

export const DEPARTMENTS = ["MARKETING", "SALES", "PRODUCT", "SUPPORT", "BILLING"];
const WIDTH = 1000, LANE = 36, LEFT = 96, RIGHT = 12, TOP = 8, AXIS = 24;

/** The lanes as SVG; `evidence` is the set of positions of the events some finding rests on. */
export function lanes(events, evidence, until) {
  const times = events.map((event) => Date.parse(event.occurredAt));
  const end = until ? Date.parse(until) : Math.max(...times, Date.now());
  const start = times.length ? Math.min(...times) : end - 86400000;
  const span = Math.max(end - start, 1);
  const x = (time) => LEFT + ((WIDTH - LEFT - RIGHT) * (time - start)) / span;
  const height = TOP + LANE * DEPARTMENTS.length + AXIS;
  const label = `Timeline of ${events.length} events from ${day(start)} to ${day(end)}, one lane per department;` +
    ` ${[...evidence].length} events are evidence of a finding (listed with each finding below)`;
  return s("svg", { class: "lanes", viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": label },
    DEPARTMENTS.map((department, lane) => {
      const y = TOP + lane * LANE + LANE / 2;
      return [
        s("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y, class: "lane" }),
        s("text", { x: 4, y: y + 4, class: "axis" }, words(department)),
      ];
    }),
    events.map((event) => {
      const y = TOP + DEPARTMENTS.indexOf(event.department) * LANE + LANE / 2;
      const marked = evidence.has(event.position);
      return s("circle", {
        cx: x(Date.parse(event.occurredAt)).toFixed(1), cy: y, r: marked ? 6 : 3,
        class: marked ? "event evidence" : "event", "data-position": event.position,
      }, s("title", {}, `${moment(event.occurredAt)}: ${event.type}${marked ? " (evidence of a finding)" : ""}`));
    }),
    s("text", { x: LEFT, y: height - 6, class: "axis" }, day(start)),
    s("text", { x: WIDTH - RIGHT, y: height - 6, class: "axis", "text-anchor": "end" }, day(end)));
}

/** Mark one finding's evidence on the lanes (and unmark the rest); null clears the choice. */
export function select(svg, positions) {
  svg.classList.toggle("choosing", positions !== null);
  for (const circle of svg.querySelectorAll("circle.event")) {
    circle.classList.toggle("selected", positions !== null && positions.has(circle.dataset.position));
  }
}

/** The same events as a table, newest first, for reading without the chart. */
export function eventTable(events, evidence) {
  return h("details", { class: "events" },
    h("summary", {}, `All ${events.length} events as a list`),
    h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Department", "Type", "Actor"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, [...events].reverse().map((event) =>
        h("tr", { class: evidence.has(event.position) ? "evidence" : null },
          h("td", {}, moment(event.occurredAt)), h("td", {}, words(event.department)),
          h("td", {}, event.type, evidence.has(event.position) ? h("strong", {}, " (evidence)") : null),
          h("td", {}, event.actor || ""))))));
}
