/**
 * `--amd-crl-url` / `CONTRAST_AMD_CRL_URL`: the base URL real SNP verification takes AMD's CRLs
 * from, resolved like the vendor service URLs (the flag, else the variable, else AMD's KDS
 * whatever `--kds-url` is); a value that is not an http(s) URL is bad usage naming the flag or the
 * variable.
 */
import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { vendorServiceUrls } from "../../cli/options.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("AMD CRL URL: the flag, else CONTRAST_AMD_CRL_URL, else none (AMD's KDS)", () => {
  const proxy = "https://kds-proxy.example";
  assert.deepEqual(vendorServiceUrls({ kdsUrl: proxy }, env({})), { kdsBaseUrl: proxy });
  assert.deepEqual(
    vendorServiceUrls({}, env({ CONTRAST_AMD_CRL_URL: "https://crl.example" })),
    { amdCrlUrl: "https://crl.example" },
  );
  assert.deepEqual(
    vendorServiceUrls(
      { kdsUrl: proxy, amdCrlUrl: "http://127.0.0.1:9" },
      env({ CONTRAST_AMD_CRL_URL: "https://crl.example" }),
    ),
    { kdsBaseUrl: proxy, amdCrlUrl: "http://127.0.0.1:9" },
  );
});

Deno.test("AMD CRL URL: a value that is not an http(s) URL names the flag or the variable", () => {
  assert.throws(
    () => vendorServiceUrls({ amdCrlUrl: "kdsintf.amd.com" }, env({})),
    (e: unknown) => e instanceof ParseError && e.field === "--amd-crl-url",
  );
  assert.throws(
    () => vendorServiceUrls({}, env({ CONTRAST_AMD_CRL_URL: "file:///tmp/crl" })),
    (e: unknown) => e instanceof ParseError && e.field === "CONTRAST_AMD_CRL_URL",
  );
});
