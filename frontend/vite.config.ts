import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `base: "./"`: the build works from any folder, `containerops serve` or a static bucket.
// `test.css`: Vitest empties CSS imports; styles.css is kept so a test reads its palettes.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"], environment: "node", css: { include: [/styles\.css/] } },
});
