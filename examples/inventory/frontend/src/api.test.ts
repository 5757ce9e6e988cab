import { describe, expect, it } from "vitest";

import { ApiError, InventoryApi } from "./api";
import type { Fetch } from "./api";

interface Call {
  url: string;
  init?: RequestInit;
}

function fakeFetch(responses: Array<{ status?: number; body?: unknown }>): { fetch: Fetch; calls: Call[] } {
  const calls: Call[] = [];
  const queue = [...responses];
  const fetch: Fetch = async (url, init) => {
    calls.push({ url, init });
    const next = queue.shift() ?? { status: 500, body: { detail: "no more responses" } };
    const text = next.body === undefined ? "" : typeof next.body === "string" ? next.body : JSON.stringify(next.body);
    return new Response(text, { status: next.status ?? 200 });
  };
  return { fetch, calls };
}

const product = {
  id: 1,
  sku: "BOLT-M8",
  name: "Hex bolt",
  description: "",
  unit_price: "0.35",
  reorder_level: 10,
  active: true,
  created_at: "2026-01-01T00:00:00Z",
};

describe("InventoryApi", () => {
  it("strips trailing slashes from the base URL", async () => {
    const { fetch, calls } = fakeFetch([{ body: { status: "ok", database: "ok", version: "1" } }]);
    await new InventoryApi("http://api.test///", fetch).health();
    expect(calls[0]?.url).toBe("http://api.test/health");
  });

  it("sends JSON bodies with a content type", async () => {
    const { fetch, calls } = fakeFetch([{ status: 201, body: product }]);
    const created = await new InventoryApi("/api", fetch).createProduct({ sku: "bolt m8", name: "Hex bolt", unit_price: "0.35" });
    expect(created.sku).toBe("BOLT-M8");
    expect(calls[0]?.init?.method).toBe("POST");
    expect(JSON.parse(String(calls[0]?.init?.body))).toEqual({ sku: "bolt m8", name: "Hex bolt", unit_price: "0.35" });
    expect((calls[0]?.init?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("builds list queries only from given options", async () => {
    const { fetch, calls } = fakeFetch([{ body: { items: [], next_cursor: null } }, { body: { items: [], next_cursor: null } }]);
    const api = new InventoryApi("/api", fetch);
    await api.listProducts();
    await api.listProducts({ limit: 5, cursor: "abc", active: true, skuPrefix: "BOLT" });
    expect(calls[0]?.url).toBe("/api/products");
    expect(calls[1]?.url).toBe("/api/products?limit=5&cursor=abc&active=true&sku_prefix=BOLT");
  });

  it("follows cursors to collect every product", async () => {
    const { fetch, calls } = fakeFetch([
      { body: { items: [product], next_cursor: "c1" } },
      { body: { items: [{ ...product, id: 2 }], next_cursor: null } },
    ]);
    const all = await new InventoryApi("/api", fetch).allProducts({ pageSize: 1 });
    expect(all.map((p) => p.id)).toEqual([1, 2]);
    expect(calls[1]?.url).toContain("cursor=c1");
  });

  it("encodes search text", async () => {
    const { fetch, calls } = fakeFetch([{ body: { query: "", tsquery: "", hits: [] } }]);
    await new InventoryApi("/api", fetch).search('hex "m8 bolt" & co');
    expect(calls[0]?.url).toBe("/api/products/search?q=hex+%22m8+bolt%22+%26+co&limit=20");
  });

  it("raises ApiError with the server's detail", async () => {
    const { fetch } = fakeFetch([{ status: 404, body: { detail: "product 9 not found" } }]);
    const error = await new InventoryApi("/api", fetch).getProduct(9).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).detail).toBe("product 9 not found");
  });

  it("flattens FastAPI validation errors", async () => {
    const body = { detail: [{ loc: ["body", "unit_price"], msg: "must be >= 0" }, { loc: ["body", "sku"], msg: "bad" }] };
    const { fetch } = fakeFetch([{ status: 422, body }]);
    const error = (await new InventoryApi("/api", fetch).createProduct({ sku: "x", name: "n", unit_price: "-1" }).catch((e: unknown) => e)) as ApiError;
    expect(error.detail).toBe("unit_price: must be >= 0; sku: bad");
  });

  it("recognises insufficient stock answers", async () => {
    const { fetch } = fakeFetch([{ status: 409, body: { detail: "short", requested: 5, available: 2 } }]);
    const error = (await new InventoryApi("/api", fetch).issue(1, 5).catch((e: unknown) => e)) as ApiError;
    expect(error.isInsufficientStock).toBe(true);
  });

  it("does not mistake a duplicate SKU for insufficient stock", async () => {
    const { fetch } = fakeFetch([{ status: 409, body: { detail: "exists" } }]);
    const error = (await new InventoryApi("/api", fetch).createProduct({ sku: "A1", name: "n", unit_price: "1" }).catch((e: unknown) => e)) as ApiError;
    expect(error.isInsufficientStock).toBe(false);
  });

  it("copes with a non-JSON error page", async () => {
    const { fetch } = fakeFetch([{ status: 502, body: "<html>Bad gateway</html>" }]);
    const error = (await new InventoryApi("/api", fetch).valuation().catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.body).toBe("<html>Bad gateway</html>");
  });

  it("filters movements by kind", async () => {
    const { fetch, calls } = fakeFetch([{ body: [] }]);
    await new InventoryApi("/api", fetch).movements(3, "issue");
    expect(calls[0]?.url).toBe("/api/products/3/movements?kind=issue");
  });
});
