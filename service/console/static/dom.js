// Building the page from data: every text goes in as text, never as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h("a", {href: "/"}, "Accounts"). */
export function h(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, in the SVG namespace. */
export function s(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

/** Replace everything in `element` with `children`. */
export function show(element, ...children) {
  element.replaceChildren();
  return fill(element, {}, children);
}

const DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const MOMENT = new Intl.DateTimeFormat("en-GB", {
  day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
});

/** "2 Mar 2026" (UTC), or an empty string for null. */
export function day(instant) {
  return instant ? DAY.format(new Date(instant)) : "";
}

/** "2 Mar 2026, 09:14 UTC", or an empty string for null. */
export function moment(instant) {
  return instant ? `${MOMENT.format(new Date(instant))} UTC` : "";
}

/** "AT_RISK" -> "at risk". */
export function words(constant) {
  return constant ? constant.toLowerCase().replaceAll("_", " ") : "";
}
