/**
 * `contrast collateral list|export|path`, run in-process against a cache filled from a local
 * HTTP server; the exported bundle is then read back offline.
 */
import assert from "node:assert/strict";
import { runCli } from "../../cli/main.ts";
import { CachingFetcher } from "../../collateral/mod.ts";
import { DiskCache } from "../../collateral/disk_cache.ts";
import { startServer } from "../collateral/local_server.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** Runs the CLI capturing what it prints. */
async function contrast(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await runCli(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("collateral export turns the cache into a bundle an offline fetcher serves", async () => {
  const server = startServer((request) =>
    new Response(`body of ${new URL(request.url).pathname}`, {
      headers: { "tcb-info-issuer-chain": "chain%20pem" },
    })
  );
  const dir = await Deno.makeTempDir();
  try {
    const online = new CachingFetcher({ cacheDir: `${dir}/cache/collateral` });
    const chain = `${server.base}/vcek/v1/Milan/cert_chain`;
    const tcb = `${server.base}/tdx/certification/v4/tcb?fmspc=B0C06F000000`;
    const crl = `${server.base}/vcek/v1/Milan/crl`;
    await online.get(chain, { accept: "application/x-pem-file" });
    await online.get(tcb);
    // An entry that expired long ago is left out unless asked for. (Valid for 50 ms when fetched:
    // the fetcher caches only what is still valid when it writes, and 1 ms was too short for a
    // loaded machine, where the entry was never written: "0 skipped".)
    await online.get(crl, { validUntil: () => new Date(Date.now() + 50) });
    await new Promise((r) => setTimeout(r, 100));

    const listed = await contrast("collateral", "list", "--cache-dir", `${dir}/cache`);
    assert.equal(listed.code, 0);
    assert.ok(listed.out.includes(chain) && listed.out.includes(tcb), listed.out);

    const exported = await contrast(
      "collateral",
      "export",
      "--cache-dir",
      `${dir}/cache`,
      "--out",
      `${dir}/bundle`,
    );
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.err, /2 written, 1 skipped/);
    assert.match(exported.err, /expired at/);

    const offline = new CachingFetcher({ offline: true, importDirs: [`${dir}/bundle`] });
    const r = await offline.get(tcb);
    assert.equal(r.source, "import");
    assert.equal(new TextDecoder().decode(r.body), "body of /tdx/certification/v4/tcb");
    assert.equal(r.headers["tcb-info-issuer-chain"], "chain%20pem");
    assert.equal((await offline.get(chain)).source, "import");
    await assert.rejects(offline.get(crl), /offline and not available/);

    const again = await contrast(
      "collateral",
      "export",
      "--cache-dir",
      `${dir}/cache`,
      "--out",
      `${dir}/bundle2`,
      "--include-expired",
    );
    assert.match(again.err, /3 written, 0 skipped/);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collateral list reports a corrupt cache entry", () =>
  withTempDir(async (dir) => {
    const cache = new DiskCache(`${dir}/collateral`);
    const url = "https://kdsintf.amd.com/vcek/v1/Genoa/crl";
    await cache.write({
      key: url,
      url,
      fetchedAt: new Date(),
      headers: {},
      body: Uint8Array.of(1, 2),
    });
    const path = await cache.pathOf(url);
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 1));
    const listed = await contrast("collateral", "list", "--cache-dir", dir, "--json");
    assert.equal(listed.code, 0);
    const entries = JSON.parse(listed.out);
    assert.equal(entries.length, 1);
    assert.match(entries[0].corrupt, /body has 1 bytes, metadata says 2/);
  }));

Deno.test("collateral path prints the bundle location of each URL", async () => {
  const r = await contrast(
    "collateral",
    "path",
    "--collateral-dir",
    "/bundle",
    "https://kdsintf.amd.com/vcek/v1/Turin/3b42092f69c656d3?fmcSPL=0&blSPL=1",
    "https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity",
  );
  assert.equal(r.code, 0);
  assert.deepEqual(r.out.split("\n"), [
    "/bundle/kdsintf.amd.com/vcek/v1/Turin/3b42092f69c656d3%3FfmcSPL%3D0%26blSPL%3D1",
    "/bundle/api.trustedservices.intel.com/tdx/certification/v4/qe/identity",
  ]);
});

Deno.test("collateral path rejects a non-http URL with exit code 2", async () => {
  const r = await contrast("collateral", "path", "--collateral-dir", "/b", "file:///etc/passwd");
  assert.equal(r.code, 2);
  assert.match(r.err, /only http/);
});

Deno.test("collateral export without --out is a usage error", async () => {
  const r = await contrast("collateral", "export", "--cache-dir", "/tmp/nowhere");
  assert.equal(r.code, 2);
});

Deno.test("collateral list names the roots each entry was verified for", () =>
  withTempDir(async (dir) => {
    const cache = new DiskCache(`${dir}/collateral`);
    const url = "http://127.0.0.1:8081/tdx/certification/v4/qe/identity";
    const domain = `roots=${"ab".repeat(32)}`;
    await cache.write({
      key: `${url}\ntrust: ${domain}`,
      url,
      fetchedAt: new Date(),
      headers: {},
      body: Uint8Array.of(1, 2),
    });
    const text = await contrast("collateral", "list", "--cache-dir", dir);
    assert.equal(text.code, 0);
    assert.match(text.out, new RegExp(`^${url}  2 bytes .* verified for ${domain}$`));
    const json = await contrast("collateral", "list", "--cache-dir", dir, "--json");
    assert.equal(JSON.parse(json.out)[0].trustDomain, domain);
  }));

Deno.test("collateral list and export print a cache writer's URL on one line, controls escaped", () =>
  withTempDir(async (dir) => {
    // Whoever can write the cache directory chooses an entry's URL (and key) text: the file name
    // is only the SHA-256 of the key, which anyone can compute.
    const url = "https://kdsintf.amd.com/vcek/v1/Genoa/crl\r\x1b[2K" +
      "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain  1 bytes  verified for roots=\u2028\x9b2K";
    await new DiskCache(`${dir}/collateral`).write({
      key: url,
      url,
      fetchedAt: new Date(),
      headers: {},
      body: Uint8Array.of(1),
    });
    // deno-lint-ignore no-control-regex -- finding control characters is the point
    const unescaped = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/;
    const listed = await contrast("collateral", "list", "--cache-dir", dir);
    assert.equal(listed.code, 0);
    assert.doesNotMatch(listed.out, unescaped, JSON.stringify(listed.out));
    assert.match(listed.out, /^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Genoa\/crl\\u000d\\u001b/);
    const exported = await contrast(
      "collateral",
      "export",
      "--cache-dir",
      dir,
      "--out",
      `${dir}/bundle`,
    );
    assert.equal(exported.code, 0, exported.err);
    assert.doesNotMatch(exported.out, unescaped, JSON.stringify(exported.out));
    assert.equal(exported.out.split("\n").length, 1);
    // The JSON listing keeps the text as it is (JSON escapes it).
    const json = await contrast("collateral", "list", "--cache-dir", dir, "--json");
    assert.equal(JSON.parse(json.out)[0].url, url);
  }));
