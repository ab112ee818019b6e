// Reading the page's address: a value that cannot be used is refused by name, never silently dropped.

/** A part of the address the page cannot use: `name` is the parameter, the message says why. */
export class AddressError extends Error {
  constructor(name, value, reason) {
    super(`${name}: “${value}” ${reason}`);
    this.name = "AddressError";
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A day as YYYY-MM-DD that exists, or "" when the parameter is absent or empty. */
export function dayParameter(params, name) {
  const value = params.get(name) || "";
  if (value && (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ||
      new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value)) {
    throw new AddressError(name, value, "is not a day written as YYYY-MM-DD");
  }
  return value;
}

/** A whole number, as text, or "" when absent or empty. */
export function integerParameter(params, name) {
  const value = params.get(name) || "";
  if (value && !/^-?\d+$/.test(value)) throw new AddressError(name, value, "is not a whole number");
  return value;
}

/** One of `allowed`, or "" when absent or empty. */
export function choiceParameter(params, name, allowed) {
  const value = params.get(name) || "";
  if (value && !allowed.includes(value)) throw new AddressError(name, value, `is not one of ${allowed.join(", ")}`);
  return value;
}
