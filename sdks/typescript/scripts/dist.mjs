// Build steps tsc does not do: `clean` empties dist/, `mark` tells Node which module
// system each half of dist/ uses (dist/esm is ES modules, dist/cjs is CommonJS).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "dist");
const step = process.argv[2];
if (step === "clean") {
  rmSync(dist, { recursive: true, force: true });
} else if (step === "mark") {
  for (const [dir, type] of [
    ["esm", "module"],
    ["cjs", "commonjs"],
  ]) {
    mkdirSync(join(dist, dir), { recursive: true });
    writeFileSync(join(dist, dir, "package.json"), JSON.stringify({ type }) + "\n");
  }
} else {
  console.error("usage: node scripts/dist.mjs clean|mark");
  process.exit(2);
}
