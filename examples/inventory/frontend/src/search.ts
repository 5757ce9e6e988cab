// Search box behaviour: debounce keystrokes, render highlighted snippets safely.

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The API marks matches as **word**; turn them into <mark> after escaping everything else. */
export function snippetToHtml(snippet: string): string {
  return escapeHtml(snippet).replace(/\*\*([^*]+)\*\*/g, "<mark>$1</mark>");
}

/** Worth a request? Two characters or a quoted phrase; a lone "-" excludes nothing yet. */
export function isSearchable(text: string): boolean {
  const words = text.match(/[A-Za-z0-9]+/g) ?? [];
  const positive = text.split(/\s+/).filter((token) => token && !token.startsWith("-"));
  return positive.length > 0 && words.join("").length >= 2;
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, waitMs: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn(...args);
    }, waitMs);
  };
}

/**
 * Keeps only the latest search's answer: typing fast sends several requests and
 * an older, slower answer must not replace a newer one.
 */
export class LatestOnly<T> {
  private generation = 0;

  async run(task: () => Promise<T>): Promise<T | undefined> {
    const mine = ++this.generation;
    const result = await task();
    return mine === this.generation ? result : undefined;
  }
}
