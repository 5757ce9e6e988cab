// Browser entry point: wires the search box and the stock table to the API.
import { InventoryApi } from "./api";
import { debounce, isSearchable, LatestOnly, snippetToHtml } from "./search";
import { byAttention, stockRow, summarize } from "./stock";
import type { SearchResults } from "./types";

const api = new InventoryApi(import.meta.env.VITE_API_URL ?? "/api");
const latest = new LatestOnly<SearchResults>();

function renderResults(target: HTMLElement, results: SearchResults): void {
  target.innerHTML = results.hits.length
    ? `<ul>${results.hits.map((hit) => `<li>${snippetToHtml(hit.snippet)} <small>${hit.product.sku}</small></li>`).join("")}</ul>`
    : "<p>No products match.</p>";
}

async function renderStock(target: HTMLElement): Promise<void> {
  const valuation = await api.valuation();
  const summary = summarize(valuation.products);
  const rows = byAttention(valuation.products)
    .map((level) => `<tr>${stockRow(level).map((cell) => `<td>${cell}</td>`).join("")}</tr>`)
    .join("");
  target.innerHTML = `<p>${summary.units} units, ${summary.totalValue}</p><table>${rows}</table>`;
}

const form = document.querySelector<HTMLFormElement>("#search");
const results = document.querySelector<HTMLElement>("#results");
const stock = document.querySelector<HTMLElement>("#stock");

if (form && results) {
  const input = form.elements.namedItem("q") as HTMLInputElement;
  const search = debounce(async (text: string) => {
    if (!isSearchable(text)) return;
    const answer = await latest.run(() => api.search(text));
    if (answer) renderResults(results, answer);
  }, 200);
  input.addEventListener("input", () => search(input.value));
  form.addEventListener("submit", (event) => event.preventDefault());
}
if (stock) {
  renderStock(stock).catch((error: unknown) => {
    stock.textContent = `Could not load stock: ${String(error)}`;
  });
}
