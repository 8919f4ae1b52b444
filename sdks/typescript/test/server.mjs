// Starts a real contactd for a test file: a scratch SQLite database, a fresh API key, a
// free loopback port. The binary is $CONTACTD_BIN, default ../../target/debug/contactd
// relative to the SDK directory.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const sdkDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const contactdBin = process.env.CONTACTD_BIN
  ? resolve(process.env.CONTACTD_BIN)
  : resolve(sdkDir, "../../target/debug/contactd");

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A running server: `{ url, apiKey, newKey(workspace), stop() }`. `args` go to `serve`
 * (e.g. a rate limit).
 */
export async function startServer({ args = [] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "contactd-sdk-ts-"));
  const database = `sqlite://${join(dir, "contactd.db")}`;
  const newKey = async (workspace = "sdk") => {
    const { stdout } = await promisify(execFile)(contactdBin, [
      "keys",
      "create",
      "--workspace",
      workspace,
      "--database",
      database,
    ]);
    return stdout.trim().split("\n").pop().trim();
  };
  const apiKey = await newKey();

  let lastError;
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(contactdBin, ["serve", "--listen", `127.0.0.1:${port}`, "--database", database, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr.on("data", (chunk) => {
      log = (log + chunk).slice(-8000);
    });
    const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
    if (await ready(url, exited)) {
      const stop = async () => {
        if (child.exitCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      };
      return { url, apiKey, newKey, stop, log: () => log };
    }
    child.kill("SIGKILL");
    await exited;
    lastError = new Error(`contactd did not start on ${url}:\n${log}`);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function ready(url, exited) {
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !gone) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A phone number no other call of this test process uses (each test file has its own database). */
let serial = 0;
export function uniquePhone() {
  serial += 1;
  return `+1415555${String(serial).padStart(4, "0")}`;
}
