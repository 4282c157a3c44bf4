import { strict as assert } from "node:assert";
import { ParseError, VerificationError } from "../../../util/errors/mod.ts";
import { checkPcsResponse, pinnedRootOf } from "../../../tdx/pcs/response_check.ts";
import { SimulatedTdxAuthority } from "../../../testing/tdx/authority.ts";

const authority = await SimulatedTdxAuthority.generate();
const NOW = new Date();
const collateral = await authority.collateral({ now: NOW });
const anchors = [await authority.rootFingerprint()];
const context = { trustAnchors: anchors, now: NOW };

Deno.test("accepts genuine TCB info, QE identity and CRLs, each chaining to the pinned root", async () => {
  const root = await checkPcsResponse("tcbInfo", collateral.tcbInfo, {
    ...context,
    issuerChainPem: collateral.tcbInfoIssuerChain,
  });
  assert.equal(await root.fingerprint(), anchors[0]);
  await checkPcsResponse("qeIdentity", collateral.qeIdentity, {
    ...context,
    issuerChainPem: collateral.qeIdentityIssuerChain,
  });
  await checkPcsResponse("pckCrl", collateral.pckCrl!, {
    ...context,
    issuerChainPem: collateral.pckCrlIssuerChain,
  });
  const pinned = await pinnedRootOf("tcbInfoIssuerChain", collateral.tcbInfoIssuerChain, context);
  await checkPcsResponse("rootCaCrl", collateral.rootCaCrl!, { ...context, root: pinned });
});

Deno.test("rejects a body that does not parse", async () => {
  await assert.rejects(
    checkPcsResponse("tcbInfo", new TextEncoder().encode("{}"), {
      ...context,
      issuerChainPem: collateral.tcbInfoIssuerChain,
    }),
    (e: unknown) => e instanceof ParseError && /tcbInfo/.test(e.field),
  );
  await assert.rejects(checkPcsResponse("pckCrl", new Uint8Array([1, 2, 3]), context), ParseError);
});

Deno.test("rejects TCB info signed under a CA certificate (the PCK CA chain presented as signer)", async () => {
  await assert.rejects(
    checkPcsResponse("tcbInfo", collateral.tcbInfo, {
      ...context,
      issuerChainPem: collateral.pckCrlIssuerChain,
    }),
    (e: unknown) => e instanceof VerificationError && /non-CA/.test(e.message),
  );
});

Deno.test("rejects signed JSON or a PCK CRL without an issuer chain", async () => {
  await assert.rejects(
    checkPcsResponse("qeIdentity", collateral.qeIdentity, context),
    VerificationError,
  );
  await assert.rejects(checkPcsResponse("pckCrl", collateral.pckCrl!, context), VerificationError);
});

Deno.test("rejects a root CA CRL when no verified root is known, or signed by another root", async () => {
  await assert.rejects(
    checkPcsResponse("rootCaCrl", collateral.rootCaCrl!, context),
    (e: unknown) => e instanceof VerificationError && /no verified root/.test(e.message),
  );
  const other = await SimulatedTdxAuthority.generate();
  const otherCollateral = await other.collateral({ now: NOW });
  const root = await pinnedRootOf("tcbInfoIssuerChain", collateral.tcbInfoIssuerChain, context);
  await assert.rejects(
    checkPcsResponse("rootCaCrl", otherCollateral.rootCaCrl!, { ...context, root }),
    VerificationError,
  );
});

Deno.test("rejects a chain to an unpinned root, and certificates outside their validity at now", async () => {
  await assert.rejects(
    pinnedRootOf("x", collateral.tcbInfoIssuerChain, { trustAnchors: ["00".repeat(32)], now: NOW }),
    VerificationError,
  );
  await assert.rejects(
    checkPcsResponse("tcbInfo", collateral.tcbInfo, {
      trustAnchors: anchors,
      now: new Date("1999-01-01T00:00:00Z"),
      issuerChainPem: collateral.tcbInfoIssuerChain,
    }),
    VerificationError,
  );
});
