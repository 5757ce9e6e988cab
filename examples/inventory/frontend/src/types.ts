// Shapes of the backend's JSON. Decimals arrive as strings so no cent is lost to floats.

export type StockStatus = "out_of_stock" | "below_reorder_level" | "ok";
export type MovementKind = "receipt" | "issue" | "adjustment";

export interface Product {
  id: number;
  sku: string;
  name: string;
  description: string;
  unit_price: string;
  reorder_level: number;
  active: boolean;
  created_at: string;
}

export interface ProductPage {
  items: Product[];
  next_cursor: string | null;
}

export interface NewProduct {
  sku: string;
  name: string;
  unit_price: string;
  description?: string;
  reorder_level?: number;
}

export interface StockLevel {
  product_id: number;
  sku: string;
  on_hand: number;
  value: string;
  average_unit_cost: string | null;
  status: StockStatus;
}

export interface Allocation {
  batch_id: number;
  quantity: number;
  unit_cost: string;
}

export interface Movement {
  id: number;
  product_id: number;
  kind: MovementKind;
  quantity: number;
  total_cost: string;
  note: string;
  occurred_at: string;
  allocations: Allocation[];
}

export interface SearchHit {
  product: Product;
  rank: number;
  snippet: string;
}

export interface SearchResults {
  query: string;
  tsquery: string;
  hits: SearchHit[];
}

export interface Valuation {
  total_value: string;
  products: StockLevel[];
}

export interface Health {
  status: string;
  database: string;
  version: string;
}
