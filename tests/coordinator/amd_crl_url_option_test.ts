/**
 * The Coordinator's `--amd-crl-url` (default `CONTRAST_AMD_CRL_URL`), next to `--kds-url`: where
 * real SNP verification takes AMD's CRLs (unset: AMD's KDS whatever `--kds-url` is).
 */
import assert from "node:assert/strict";
import { coordinatorProgram } from "../../coordinator/main.ts";
import { withEnvCleared } from "../helpers/env_cleared.ts";

Deno.test("Coordinator: --amd-crl-url, else CONTRAST_AMD_CRL_URL, else unset (AMD's KDS)", () => {
  withEnvCleared(["CONTRAST_AMD_CRL_URL"], () => {
    assert.equal(coordinatorProgram().parse([], { from: "user" }).opts().amdCrlUrl, undefined);
    const flag = ["--amd-crl-url", "https://crl.example", "--kds-url", "https://kds.example"];
    const parsed = coordinatorProgram().parse(flag, { from: "user" }).opts();
    assert.equal(parsed.amdCrlUrl, "https://crl.example");
    assert.equal(parsed.kdsUrl, "https://kds.example");
    Deno.env.set("CONTRAST_AMD_CRL_URL", "https://env.example");
    assert.equal(
      coordinatorProgram().parse([], { from: "user" }).opts().amdCrlUrl,
      "https://env.example",
    );
  });
});
