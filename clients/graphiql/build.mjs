// Bundles GraphiQL, React and Monaco's workers into dist/ so that taskql serves
// every byte itself: no CDN, no import map, no inline script.
import { rm } from "node:fs/promises";

import { build } from "esbuild";

const outdir = new URL("./dist/", import.meta.url).pathname;
const common = { bundle: true, minify: true, legalComments: "linked", logLevel: "warning" };

await rm(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { graphiql: "src/graphiql.js" },
  outdir,
  format: "esm",
  target: "es2022",
  define: { "process.env.NODE_ENV": '"production"' },
  loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "file" },
  assetNames: "[name]-[hash]",
});
await build({
  ...common,
  entryPoints: {
    "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
    "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
    "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
  },
  outdir,
  format: "iife",
  target: "es2022",
});
