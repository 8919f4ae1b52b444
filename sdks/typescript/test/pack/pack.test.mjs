// Packaging: `npm pack` the built package, install the tarball into an empty project, and
// use it from an ES module (`import`) and from CommonJS (`require`) against a real server;
// type-check both kinds of consumer with TypeScript's Node 16 resolution (the `exports`
// map's `types`). Needs `npm run build` first.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { startServer } from "../server.mjs";

const run = promisify(execFile);
const sdkDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let server;
let work;
let tarball;

before(async () => {
  server = await startServer();
  work = await mkdtemp(join(tmpdir(), "contactd-pack-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", work], { cwd: sdkDir });
  const [packed] = JSON.parse(stdout);
  tarball = { path: join(work, packed.filename), files: packed.files.map((f) => f.path) };
});
after(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("the tarball holds both builds with their types, the README, and no sources or tests", () => {
  for (const file of [
    "package.json",
    "README.md",
    "dist/esm/index.js",
    "dist/esm/index.d.ts",
    "dist/esm/package.json",
    "dist/cjs/index.js",
    "dist/cjs/index.d.ts",
    "dist/cjs/package.json",
  ]) {
    assert.ok(tarball.files.includes(file), `${file} in ${tarball.files.join(", ")}`);
  }
  assert.ok(!tarball.files.some((f) => f.startsWith("src/") || f.startsWith("test/") || f.startsWith("node_modules/")));
});

test("the built code uses no Node built-in module (it runs in browsers)", async () => {
  for (const dir of ["dist/esm", "dist/cjs"]) {
    for (const file of (await readdir(join(sdkDir, dir))).filter((f) => f.endsWith(".js"))) {
      const code = await readFile(join(sdkDir, dir, file), "utf8");
      assert.doesNotMatch(
        code,
        /(from |require\()["'](node:|fs|path|os|crypto|http|https|net|child_process|buffer|util)["']/,
        file,
      );
      assert.doesNotMatch(
        code,
        /\bprocess\.(env|exit|on|nextTick|platform|versions|argv)\b|\bBuffer\.|\brequire\(["']node:/,
        file,
      );
    }
  }
});

test("installed from the tarball, it works with import and with require", async () => {
  const project = join(work, "consumer");
  await mkdir(project);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }, null, 2));
  await run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball.path], {
    cwd: project,
  });
  const installed = JSON.parse(await readFile(join(project, "node_modules/@contactd/client/package.json"), "utf8"));
  assert.equal(installed.name, "@contactd/client");
  assert.deepEqual(Object.keys(installed.dependencies), ["libphonenumber-js"], "the only runtime dependency");

  await writeFile(
    join(project, "esm.mjs"),
    `import { Client, NotFoundError, formatPhoneE164 } from "@contactd/client";
const client = new Client({ apiKey: process.env.KEY, baseUrl: process.env.URL });
const phone = formatPhoneE164("07911 123456", "GB");
const created = await client.contacts.create({ phone, first_name: "Esm" });
const found = await client.contacts.get(phone);
let missing = "no error";
try { await client.contacts.get("+14155550100"); } catch (e) { missing = e instanceof NotFoundError ? e.code : String(e); }
console.log(JSON.stringify({ id: found.id, same: found.id === created.id, missing }));
`,
  );
  await writeFile(
    join(project, "cjs.cjs"),
    `const { Client, NotFoundError, formatPhoneE164 } = require("@contactd/client");
(async () => {
  const client = new Client({ apiKey: process.env.KEY, baseUrl: process.env.URL });
  const phone = formatPhoneE164("(415) 555-0123", "US");
  const created = await client.contacts.create({ phone, first_name: "Cjs" });
  const found = await client.contacts.get(phone);
  let missing = "no error";
  try { await client.contacts.get("+14155550100"); } catch (e) { missing = e instanceof NotFoundError ? e.code : String(e); }
  const count = await client.contacts.count();
  console.log(JSON.stringify({ id: found.id, same: found.id === created.id, missing, count }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const env = { ...process.env, KEY: server.apiKey, URL: server.url };
  const esm = JSON.parse((await run(process.execPath, ["esm.mjs"], { cwd: project, env })).stdout);
  assert.match(esm.id, /^cnt_/);
  assert.deepEqual({ same: esm.same, missing: esm.missing }, { same: true, missing: 404 });
  const cjs = JSON.parse((await run(process.execPath, ["cjs.cjs"], { cwd: project, env })).stdout);
  assert.match(cjs.id, /^cnt_/);
  assert.deepEqual({ same: cjs.same, missing: cjs.missing, count: cjs.count }, { same: true, missing: 404, count: 2 });

  // Both kinds of consumer type-check against the published declarations.
  await writeFile(
    join(project, "consumer.mts"),
    `import { Client, NotFoundError, type Contact } from "@contactd/client";
const client = new Client({ apiKey: "sk_test_x", baseUrl: "http://127.0.0.1:8080" });
export async function first(): Promise<Contact | undefined> {
  for await (const contact of client.contacts.list({ status: "active", metadata: { plan: "premium" } })) return contact;
  const page = await client.contacts.list({ limit: 10 });
  const id: string | undefined = page.data[0]?.id;
  try { await client.contacts.get(id ?? "+1234567890"); } catch (e) { if (e instanceof NotFoundError && e.code === 404) return undefined; }
  return undefined;
}
`,
  );
  await writeFile(
    join(project, "consumer.cts"),
    `import { Client, DuplicateContactError } from "@contactd/client";
const client = new Client({ apiKey: "sk_test_x" });
export async function create(): Promise<string | undefined> {
  try { return (await client.contacts.create({ phone: "+1234567890", metadata: { plan: "premium" } })).id; }
  catch (e) { if (e instanceof DuplicateContactError) return e.existingContactId; throw e; }
}
`,
  );
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "node16",
        moduleResolution: "node16",
        target: "es2022",
        lib: ["es2022", "dom", "dom.iterable"],
        types: [],
        skipLibCheck: false,
      },
      files: ["consumer.mts", "consumer.cts"],
    }),
  );
  const tsc = join(sdkDir, "node_modules/typescript/bin/tsc");
  const { stdout, stderr } = await run(process.execPath, [tsc, "-p", project]).catch((e) => e);
  assert.equal(`${stdout}${stderr}`.trim(), "", "tsc reports nothing");
});
