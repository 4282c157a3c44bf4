import "reflect-metadata";
import assert from "node:assert/strict";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import { SeedEngine } from "../../seed/seed_engine.ts";
import { CertificateAuthority } from "../../coordinator/ca/certificate_authority.ts";
import { checkSeedIsTheDeployments } from "../../cli/seed_anchor.ts";

const engine = SeedEngine.create();
const other = SeedEngine.create();
const rootCaPem = (await CertificateAuthority.forTransition(engine, new Uint8Array(32))).rootPem;
const base = {
  rootCaPath: "ws/coordinator-root-ca.pem",
  sourceName: "ws/seed-shares.json",
  trustUnconfirmed: false,
} as const;

Deno.test("a seed is sent only when it derives the workspace's root CA", async () => {
  for (const trustUnconfirmed of [false, true]) {
    const anchor = { ...base, rootCaPem, trustUnconfirmed };
    await checkSeedIsTheDeployments(engine.seed(), engine.salt(), anchor);
    await assert.rejects(
      checkSeedIsTheDeployments(other.seed(), other.salt(), anchor),
      (e: unknown) =>
        e instanceof VerificationError && e.field === base.rootCaPath &&
        /does not derive this root CA/.test(e.reason),
    );
    // The salt is part of the derivation: the right seed with another salt is refused too.
    await assert.rejects(
      checkSeedIsTheDeployments(engine.seed(), other.salt(), anchor),
      VerificationError,
    );
  }
});

Deno.test("without a root CA: a seed is sent only when explicitly trusted", async () => {
  await assert.rejects(
    checkSeedIsTheDeployments(other.seed(), other.salt(), base),
    (e: unknown) =>
      e instanceof VerificationError && e.field === "seedShares" &&
      /--trust-seed-shares/.test(e.reason),
  );
  await checkSeedIsTheDeployments(other.seed(), other.salt(), { ...base, trustUnconfirmed: true });
});

Deno.test("a root CA file that is not a certificate is bad input naming the file", async () => {
  await assert.rejects(
    checkSeedIsTheDeployments(engine.seed(), engine.salt(), {
      ...base,
      rootCaPem: "not a certificate",
    }),
    (e: unknown) => e instanceof ParseError && e.field.startsWith(base.rootCaPath),
  );
});
