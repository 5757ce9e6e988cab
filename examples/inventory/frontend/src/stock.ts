// View logic for stock levels: labels, ordering, and what needs attention first.
import { formatMoney, sumMoney } from "./money";
import type { StockLevel, StockStatus } from "./types";

const LABELS: Record<StockStatus, string> = {
  out_of_stock: "Out of stock",
  below_reorder_level: "Reorder",
  ok: "In stock",
};

const URGENCY: Record<StockStatus, number> = { out_of_stock: 0, below_reorder_level: 1, ok: 2 };

export function statusLabel(status: StockStatus): string {
  return LABELS[status];
}

/** Most urgent first, then the most valuable, then by SKU so the order is stable. */
export function byAttention(levels: StockLevel[]): StockLevel[] {
  return [...levels].sort(
    (a, b) =>
      URGENCY[a.status] - URGENCY[b.status] ||
      sumMoney([b.value]) - sumMoney([a.value]) ||
      a.sku.localeCompare(b.sku),
  );
}

export interface StockSummary {
  products: number;
  units: number;
  totalValue: string;
  needingAttention: string[];
}

export function summarize(levels: StockLevel[]): StockSummary {
  return {
    products: levels.length,
    units: levels.reduce((n, level) => n + level.on_hand, 0),
    totalValue: formatMoney((sumMoney(levels.map((l) => l.value)) / 100).toFixed(2)),
    needingAttention: byAttention(levels)
      .filter((level) => level.status !== "ok")
      .map((level) => level.sku),
  };
}

export function stockRow(level: StockLevel): string[] {
  return [
    level.sku,
    String(level.on_hand),
    formatMoney(level.value),
    level.average_unit_cost === null ? "–" : formatMoney(level.average_unit_cost),
    statusLabel(level.status),
  ];
}
