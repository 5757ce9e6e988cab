import { describe, expect, it } from "vitest";

import { formatMoney, sumMoney, toCents } from "./money";

describe("toCents", () => {
  it.each([
    ["0", 0],
    ["1", 100],
    ["1.5", 150],
    ["12.34", 1234],
    ["0.005", 1],
    ["0.0049", 0],
    ["12.345", 1235],
    ["-1.005", -101],
    [" 7.25 ", 725],
    ["1.8000", 180],
  ])("%s is %i cents", (value, cents) => {
    expect(toCents(value)).toBe(cents);
  });

  it.each(["", "abc", "1,50", "1.23456", "1e3", "--1"])("rejects %j", (value) => {
    expect(() => toCents(value)).toThrow(/not a decimal amount/);
  });
});

describe("formatMoney", () => {
  it("formats in the given currency", () => {
    expect(formatMoney("1234.5")).toBe("€1,234.50");
    expect(formatMoney("3", "USD", "en-US")).toBe("$3.00");
  });
});

describe("sumMoney", () => {
  it("adds without float drift", () => {
    expect(sumMoney(["0.10", "0.20", "0.30"])).toBe(60);
    expect(sumMoney([])).toBe(0);
  });
});
