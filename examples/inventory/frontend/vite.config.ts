import { defineConfig } from "vitest/config";

// The dev server proxies the API so the browser sees one origin, as behind the real proxy.
export default defineConfig({
  server: {
    proxy: { "/api": { target: "http://localhost:8000", rewrite: (p) => p.replace(/^\/api/, "") } },
  },
  build: { outDir: "dist", sourcemap: true },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
