// Decimal strings from the API are handled as integer cents: floats would drift.

const MONEY = /^(-)?(\d+)(?:\.(\d{1,4}))?$/;

/** "12.345" -> 1235 (half up, like the backend). Throws on anything else. */
export function toCents(value: string): number {
  const match = MONEY.exec(value.trim());
  if (!match) throw new Error(`not a decimal amount: ${JSON.stringify(value)}`);
  const [, sign, whole = "0", fraction = ""] = match;
  const padded = fraction.padEnd(4, "0");
  const tenThousandths = Number(whole) * 10000 + Number(padded);
  const cents = Math.floor((tenThousandths + 50) / 100);
  return sign ? -cents : cents;
}

export function formatCents(cents: number, currency = "EUR", locale = "en-GB"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

export function formatMoney(value: string, currency = "EUR", locale = "en-GB"): string {
  return formatCents(toCents(value), currency, locale);
}

export function sumMoney(values: string[]): number {
  return values.reduce((total, value) => total + toCents(value), 0);
}
