import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { debounce, escapeHtml, isSearchable, LatestOnly, snippetToHtml } from "./search";

describe("snippetToHtml", () => {
  it("marks highlighted words", () => {
    expect(snippetToHtml("Hex **bolt** M8")).toBe("Hex <mark>bolt</mark> M8");
  });

  it("escapes markup from product names", () => {
    expect(snippetToHtml('<img src=x onerror="a"> **nut**')).toBe(
      "&lt;img src=x onerror=&quot;a&quot;&gt; <mark>nut</mark>",
    );
  });

  it("escapes quotes and ampersands", () => {
    expect(escapeHtml(`Tom & Jerry's "box"`)).toBe("Tom &amp; Jerry&#39;s &quot;box&quot;");
  });
});

describe("isSearchable", () => {
  it.each([
    ["bo", true],
    ["b", false],
    ["", false],
    ["   ", false],
    ["-zinc", false],
    ["bolt -zinc", true],
    ['"hex head"', true],
    ["&&", false],
  ])("%j -> %s", (text, expected) => {
    expect(isSearchable(text)).toBe(expected);
  });
});

describe("debounce", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("calls once with the last arguments after the pause", () => {
    const seen: string[] = [];
    const debounced = debounce((text: string) => seen.push(text), 200);
    debounced("b");
    debounced("bo");
    vi.advanceTimersByTime(199);
    debounced("bol");
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(["bol"]);
  });

  it("calls again after a later pause", () => {
    const seen: string[] = [];
    const debounced = debounce((text: string) => seen.push(text), 50);
    debounced("a");
    vi.advanceTimersByTime(50);
    debounced("b");
    vi.advanceTimersByTime(50);
    expect(seen).toEqual(["a", "b"]);
  });
});

describe("LatestOnly", () => {
  it("drops an older answer that arrives after a newer one", async () => {
    const latest = new LatestOnly<string>();
    let releaseSlow: (value: string) => void = () => undefined;
    const slow = latest.run(() => new Promise<string>((resolve) => (releaseSlow = resolve)));
    const fast = latest.run(async () => "new");
    releaseSlow("old");
    expect(await fast).toBe("new");
    expect(await slow).toBeUndefined();
  });
});
