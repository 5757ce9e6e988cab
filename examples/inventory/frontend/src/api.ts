// A small typed client for the inventory API. fetch is injected so tests fake the seam.
import type {
  Health,
  Movement,
  MovementKind,
  NewProduct,
  Product,
  ProductPage,
  SearchResults,
  StockLevel,
  Valuation,
} from "./types";

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${detail}`);
    this.name = "ApiError";
  }

  get isInsufficientStock(): boolean {
    return this.status === 409 && typeof this.body === "object" && this.body !== null && "available" in this.body;
  }
}

function detailOf(body: unknown, fallback: string): string {
  if (typeof body === "object" && body !== null && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    // FastAPI validation errors: a list of {loc, msg}.
    if (Array.isArray(detail)) {
      return detail
        .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg ?? "invalid"}`)
        .join("; ");
    }
  }
  return fallback;
}

export class InventoryApi {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...init.headers, "Content-Type": "application/json" };
    }
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, detailOf(parsed, response.statusText || "request failed"), parsed);
    }
    return parsed as T;
  }

  health(): Promise<Health> {
    return this.request("GET", "/health");
  }

  listProducts(options: { limit?: number; cursor?: string; active?: boolean; skuPrefix?: string } = {}): Promise<ProductPage> {
    const params = new URLSearchParams();
    if (options.limit !== undefined) params.set("limit", String(options.limit));
    if (options.cursor) params.set("cursor", options.cursor);
    if (options.active) params.set("active", "true");
    if (options.skuPrefix) params.set("sku_prefix", options.skuPrefix);
    const query = params.toString();
    return this.request("GET", `/products${query ? `?${query}` : ""}`);
  }

  /** Every product, following cursors until the last page. */
  async allProducts(options: { active?: boolean; pageSize?: number } = {}): Promise<Product[]> {
    const products: Product[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listProducts({ limit: options.pageSize ?? 100, cursor, active: options.active });
      products.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return products;
  }

  getProduct(id: number): Promise<Product> {
    return this.request("GET", `/products/${id}`);
  }

  createProduct(product: NewProduct): Promise<Product> {
    return this.request("POST", "/products", product);
  }

  search(q: string, limit = 20): Promise<SearchResults> {
    const params = new URLSearchParams({ q, limit: String(limit) });
    return this.request("GET", `/products/search?${params.toString()}`);
  }

  stock(productId: number): Promise<StockLevel> {
    return this.request("GET", `/products/${productId}/stock`);
  }

  receive(productId: number, quantity: number, unitCost: string, reference = ""): Promise<unknown> {
    return this.request("POST", `/products/${productId}/receipts`, { quantity, unit_cost: unitCost, reference });
  }

  issue(productId: number, quantity: number, note = ""): Promise<Movement> {
    return this.request("POST", `/products/${productId}/issues`, { quantity, note });
  }

  movements(productId: number, kind?: MovementKind): Promise<Movement[]> {
    const query = kind ? `?kind=${kind}` : "";
    return this.request("GET", `/products/${productId}/movements${query}`);
  }

  valuation(): Promise<Valuation> {
    return this.request("GET", "/stock/valuation");
  }
}
