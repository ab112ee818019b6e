// Money as the API gives it: decimal strings, added exactly (never as floating point), one currency at a time.

function parts(amount) {
  const text = String(amount);
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  return { negative, whole, fraction };
}

/** The exact sum of decimal strings of one currency, at the largest number of decimal places among them. */
export function sum(amounts) {
  const scale = Math.max(0, ...amounts.map((amount) => parts(amount).fraction.length));
  let total = 0n;
  for (const amount of amounts) {
    const { negative, whole, fraction } = parts(amount);
    const units = BigInt(whole + fraction.padEnd(scale, "0"));
    total += negative ? -units : units;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/** "1234567.5" -> "1,234,567.5": the digits as given, grouped by thousands (plain notation, no rounding). */
export function grouped(amount) {
  const { negative, whole, fraction } = parts(amount);
  const text = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (String(amount).includes(".") ? `.${fraction}` : "");
  return negative ? `-${text}` : text;
}

/** A share (0 to 1) as a percentage with one decimal: 0.4567 -> "45.7%". */
export function percent(share) {
  return `${(share * 100).toFixed(1)}%`;
}
