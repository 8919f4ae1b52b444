// Generates src/schema.ts from the repository's docs/openapi.json with openapi-typescript
// (the version pinned in package.json). `--check` regenerates into a scratch file and exits
// non-zero when the committed src/schema.ts differs, so the types cannot drift from the API.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const document = resolve(root, "../../docs/openapi.json");
const target = join(root, "src/schema.ts");
const cli = join(root, "node_modules/openapi-typescript/bin/cli.js");
const check = process.argv.includes("--check");

const scratch = mkdtempSync(join(tmpdir(), "contactd-schema-"));
try {
  const output = join(scratch, "schema.ts");
  execFileSync(process.execPath, [cli, document, "--output", output], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const generated = readFileSync(output, "utf8");
  if (!check) {
    writeFileSync(target, generated);
    console.log(`generated ${target} from ${document}`);
  } else {
    let committed = "";
    try {
      committed = readFileSync(target, "utf8");
    } catch {
      // A missing file differs like any other.
    }
    if (committed !== generated) {
      console.error(
        `${target} differs from what openapi-typescript generates from ${document}: run \`npm run generate\` and commit the result`,
      );
      process.exitCode = 1;
    } else {
      console.log(`src/schema.ts is up to date with ${document}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
