/**
 * The check a PCS response must pass before the collateral cache stores it: parsed, and signed
 * under a pinned root — TCB info and QE identity by a signing certificate issued directly by the
 * root (ECDSA P-256 over the exact signed JSON bytes), the PCK CRL by the CA its issuer-chain
 * header chains to the root, the root CA CRL by the root itself. Certificates and CRLs are
 * checked at the fetch time. This keeps one bogus response from sticking in the cache; the quote
 * verifier still checks everything again at its own `now` (freshness, revocation, FMSPC).
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { type Certificate, parseCertificates } from "../../x509/certificate.ts";
import { type VerifiedChain, verifyChain } from "../../x509/chain.ts";
import { parseCrl, verifyCrl } from "../../x509/crl.ts";
import type { TrustAnchor } from "../../x509/chain.ts";
import { verifyEcdsa } from "../../x509/signature.ts";
import { parseQeIdentityResponse } from "../collateral/qe_identity.ts";
import { parseTdxTcbInfoResponse } from "../collateral/tcb_info.ts";
import type { PckCaType } from "../verify/collateral_bundle.ts";

/** Which PCS resource a response is. */
type PcsResponseKind = "tcbInfo" | "qeIdentity" | "pckCrl" | "rootCaCrl";

/** What a check needs. */
interface PcsResponseCheckContext {
  /** Pinned roots (SHA-256 fingerprints or certificates). */
  readonly trustAnchors: readonly TrustAnchor[];
  /** The time certificates and CRLs are checked at (the fetch time). */
  readonly now: Date;
  /** The issuer-chain header's PEM (TCB info, QE identity, PCK CRL). */
  readonly issuerChainPem?: string;
  /** The verified root certificate (root CA CRL only: the CRL names no chain of its own). */
  readonly root?: Certificate;
  /** The FMSPC the TCB info was requested for; a TCB info of another platform is refused. */
  readonly fmspc?: Uint8Array;
  /** The PCK CA whose CRL was requested; the CRL of the other PCK CA is refused. */
  readonly pckCa?: PckCaType;
}

async function chainToRoot(
  field: string,
  pem: string | undefined,
  context: PcsResponseCheckContext,
): Promise<VerifiedChain> {
  if (pem === undefined) throw new VerificationError(field, "no issuer chain to check");
  const certs = parseCertificates(pem, field);
  if (certs.length === 0) throw new VerificationError(field, "is empty");
  return await verifyChain({
    leaf: certs[0]!,
    intermediates: certs.slice(1),
    trustAnchors: context.trustAnchors,
    now: context.now,
    field,
    maxLength: 3,
  });
}

async function checkSignedJson(
  field: string,
  signed: { readonly signedBytes: Uint8Array; readonly signature: Uint8Array },
  context: PcsResponseCheckContext,
): Promise<VerifiedChain> {
  const chain = await chainToRoot(`${field}IssuerChain`, context.issuerChainPem, context);
  if (chain.certificates.length !== 2 || chain.leaf.basicConstraints?.ca) {
    throw new VerificationError(
      `${field}IssuerChain`,
      "the signing certificate must be a non-CA certificate issued directly by the root",
    );
  }
  const ok = await verifyEcdsa({
    publicKey: chain.leaf.spki,
    curve: "P-256",
    hash: "SHA-256",
    signatureRaw: signed.signature,
    data: signed.signedBytes,
  });
  if (!ok) {
    throw new VerificationError(
      `${field}.signature`,
      `does not verify with "${chain.leaf.subject}" over the signed bytes`,
    );
  }
  return chain;
}

/**
 * The pinned root an issuer chain (e.g. the TCB info's) leads to, verified at `context.now`:
 * what the root CA CRL must be signed by.
 *
 * @throws {VerificationError} when the chain does not end in a pinned root
 */
export async function pinnedRootOf(
  field: string,
  issuerChainPem: string,
  context: Pick<PcsResponseCheckContext, "trustAnchors" | "now">,
): Promise<Certificate> {
  return (await chainToRoot(field, issuerChainPem, context)).root;
}

/**
 * Checks one PCS response (see the module documentation).
 *
 * @returns the verified root certificate the response chains to
 * @throws {import("../../util/errors/mod.ts").ParseError} for a body that does not parse
 * @throws {VerificationError} for a signature, chain or CRL that does not verify
 */
export async function checkPcsResponse(
  kind: PcsResponseKind,
  body: Uint8Array,
  context: PcsResponseCheckContext,
): Promise<Certificate> {
  switch (kind) {
    case "tcbInfo": {
      const signed = parseTdxTcbInfoResponse(body);
      const root = (await checkSignedJson("tcbInfo", signed, context)).root;
      const fmspc = signed.tcbInfo.fmspc;
      if (context.fmspc !== undefined && !constantTimeEqual(fmspc, context.fmspc)) {
        throw new VerificationError(
          "tcbInfo.fmspc",
          `is ${encodeHex(fmspc)}, but the TCB info of ${encodeHex(context.fmspc)} was requested`,
        );
      }
      return root;
    }
    case "qeIdentity":
      return (await checkSignedJson("qeIdentity", parseQeIdentityResponse(body), context)).root;
    case "pckCrl": {
      const crl = parseCrl(body, "pckCrl");
      const chain = await chainToRoot("pckCrlIssuerChain", context.issuerChainPem, context);
      await verifyCrl(crl, chain.leaf, context.now, "pckCrl");
      // Told apart as the PCK CA type of a quote is (tdx/verifier.ts collateralRequestOf).
      const issuedBy: PckCaType = /Processor/i.test(crl.issuer) ? "processor" : "platform";
      if (context.pckCa !== undefined && issuedBy !== context.pckCa) {
        throw new VerificationError(
          "pckCrl.issuer",
          `is the ${issuedBy} PCK CA ("${crl.issuer}"), but the ${context.pckCa} CA's CRL was requested`,
        );
      }
      return chain.root;
    }
    case "rootCaCrl": {
      const crl = parseCrl(body, "rootCaCrl");
      if (context.root === undefined) {
        throw new VerificationError("rootCaCrl", "no verified root certificate to check it with");
      }
      await verifyCrl(crl, context.root, context.now, "rootCaCrl");
      return context.root;
    }
  }
}
