/**
 * `--root-ca-crl-url` / `CONTRAST_ROOT_CA_CRL_URL`: where real TDX verification takes the Intel
 * SGX Root CA CRL, resolved like the vendor service URLs (the flag, else the variable, else
 * Intel's published location whatever `--pcs-url` is); a value that is not an http(s) URL is bad
 * usage naming the flag or the variable.
 */
import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { vendorServiceUrls } from "../../cli/options.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("root CA CRL URL: the flag, else CONTRAST_ROOT_CA_CRL_URL, else none (Intel's)", () => {
  const pccs = "https://pccs.example:8081";
  assert.deepEqual(vendorServiceUrls({ pcsUrl: pccs }, env({})), { pcsBaseUrl: pccs });
  assert.deepEqual(
    vendorServiceUrls({}, env({ CONTRAST_ROOT_CA_CRL_URL: "https://crl.example/root.der" })),
    { rootCaCrlUrl: "https://crl.example/root.der" },
  );
  assert.deepEqual(
    vendorServiceUrls(
      { rootCaCrlUrl: "http://127.0.0.1:9/root.der" },
      env({ CONTRAST_ROOT_CA_CRL_URL: "https://crl.example/root.der" }),
    ),
    { rootCaCrlUrl: "http://127.0.0.1:9/root.der" },
  );
});

Deno.test("root CA CRL URL: a value that is not an http(s) URL names the flag or the variable", () => {
  assert.throws(
    () => vendorServiceUrls({ rootCaCrlUrl: "crl.der" }, env({})),
    (e: unknown) => e instanceof ParseError && e.field === "--root-ca-crl-url",
  );
  assert.throws(
    () => vendorServiceUrls({}, env({ CONTRAST_ROOT_CA_CRL_URL: "file:///tmp/crl.der" })),
    (e: unknown) => e instanceof ParseError && e.field === "CONTRAST_ROOT_CA_CRL_URL",
  );
});
