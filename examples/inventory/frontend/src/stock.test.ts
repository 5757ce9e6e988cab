import { describe, expect, it } from "vitest";

import { byAttention, statusLabel, stockRow, summarize } from "./stock";
import type { StockLevel } from "./types";

function level(sku: string, status: StockLevel["status"], value: string, onHand = 1): StockLevel {
  return { product_id: sku.length, sku, on_hand: onHand, value, average_unit_cost: onHand ? "1.0000" : null, status };
}

describe("statusLabel", () => {
  it.each([
    ["out_of_stock", "Out of stock"],
    ["below_reorder_level", "Reorder"],
    ["ok", "In stock"],
  ] as const)("%s", (status, label) => {
    expect(statusLabel(status)).toBe(label);
  });
});

describe("byAttention", () => {
  it("puts urgent products first, then valuable ones, then by SKU", () => {
    const sorted = byAttention([
      level("C", "ok", "5.00"),
      level("A", "ok", "50.00"),
      level("B", "below_reorder_level", "1.00"),
      level("D", "out_of_stock", "0.00", 0),
      level("E", "ok", "5.00"),
    ]);
    expect(sorted.map((l) => l.sku)).toEqual(["D", "B", "A", "C", "E"]);
  });

  it("does not reorder its input", () => {
    const input = [level("B", "ok", "1"), level("A", "out_of_stock", "0", 0)];
    byAttention(input);
    expect(input.map((l) => l.sku)).toEqual(["B", "A"]);
  });
});

describe("summarize", () => {
  it("totals units and value and lists what needs attention", () => {
    const summary = summarize([
      level("A", "ok", "10.10", 4),
      level("B", "below_reorder_level", "0.20", 2),
      level("C", "out_of_stock", "0.00", 0),
    ]);
    expect(summary).toEqual({ products: 3, units: 6, totalValue: "€10.30", needingAttention: ["C", "B"] });
  });

  it("handles an empty warehouse", () => {
    expect(summarize([])).toEqual({ products: 0, units: 0, totalValue: "€0.00", needingAttention: [] });
  });
});

describe("stockRow", () => {
  it("formats a row, with a dash when there is no average cost", () => {
    expect(stockRow(level("A", "out_of_stock", "0.00", 0))).toEqual(["A", "0", "€0.00", "–", "Out of stock"]);
    expect(stockRow(level("B", "ok", "2.50", 2))).toEqual(["B", "2", "€2.50", "€1.00", "In stock"]);
  });
});
