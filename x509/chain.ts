/**
 * Certificate chain verification up to a root pinned by SHA-256 fingerprint.
 *
 * The chain is built from the leaf through the given (untrusted) certificates by issuer/subject
 * name (byte-wise) and key identifiers, checking each link's signature. It must end in a
 * self-signed root whose fingerprint is pinned. Then every certificate's validity window at `now`,
 * basic constraints (CA for issuers, path length), key usage (keyCertSign for issuers, where the
 * extension is present), unknown critical extensions, and revocation by the CRLs given are
 * checked. Errors name the link (`<field>.<certificate field>`) and the reason.
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { constantTimeEqual, encodeHex, sha256 } from "../util/bytes/mod.ts";
import {
  type Certificate,
  ExtensionOid,
  KeyUsageBit,
  normaliseFingerprint,
} from "./certificate.ts";
import { checkCrlExceptSignature, type Crl, isRevoked, verifyCrl } from "./crl.ts";
import type { ChainCache } from "./chain_cache.ts";
import { verifySignedParts } from "./signature.ts";

/**
 * A trust anchor: a root certificate's SHA-256 fingerprint (hex, `:` separators allowed), or a
 * root certificate the caller trusts (pinned by its own fingerprint).
 *
 * @example Trust a root by fingerprint, or a parsed root certificate
 * ```ts
 * import type { Certificate, TrustAnchor } from "./mod.ts";
 *
 * function anchors(fingerprint: string, root: Certificate): TrustAnchor[] {
 *   return [fingerprint, root];
 * }
 * ```
 */
export type TrustAnchor = string | Certificate;

/**
 * Input of {@link verifyChain}.
 *
 * @example Verify with revocation and a cache
 * ```ts
 * import { ChainCache, type Certificate, type Crl, verifyChain, type VerifyChainOptions } from "./mod.ts";
 *
 * async function verify(leaf: Certificate, intermediate: Certificate, root: string, crl: Crl) {
 *   const options: VerifyChainOptions = {
 *     leaf,
 *     intermediates: [intermediate],
 *     trustAnchors: [root],
 *     now: new Date(),
 *     crls: [crl],
 *     field: "leaf",
 *     cache: new ChainCache(),
 *   };
 *   return await verifyChain(options);
 * }
 * ```
 */
export interface VerifyChainOptions {
  /** The certificate to verify. */
  readonly leaf: Certificate;
  /** Untrusted certificates that may complete the chain (intermediates, possibly the root). */
  readonly intermediates?: readonly Certificate[];
  /** Pinned roots; the chain must end in one of them. */
  readonly trustAnchors: readonly TrustAnchor[];
  /** The time every validity window and CRL is checked at. */
  readonly now: Date;
  /** CRLs to check revocation with; each is used for the link whose issuer issued it. */
  readonly crls?: readonly Crl[];
  /** Names the chain in errors, e.g. `vcekChain`. */
  readonly field: string;
  /** A cache of earlier verifications (see {@link ChainCache}). */
  readonly cache?: ChainCache;
  /** Critical extension OIDs the caller checks itself (beyond the standard ones handled here). */
  readonly understoodCriticalExtensions?: readonly string[];
  /** Longest chain accepted, root included. Default 6. */
  readonly maxLength?: number;
}

/**
 * A chain that verified.
 *
 * @example Until when a verified chain stays valid
 * ```ts
 * import type { VerifiedChain } from "./mod.ts";
 *
 * function validUntil(chain: VerifiedChain): Date {
 *   return chain.validUntil; // the earliest notAfter (or CRL nextUpdate) in the chain
 * }
 * ```
 */
export interface VerifiedChain {
  /** Leaf first, root last. */
  readonly certificates: readonly Certificate[];
  /** The leaf. */
  readonly leaf: Certificate;
  /** The pinned root. */
  readonly root: Certificate;
  /** SHA-256 fingerprint of the root, lower-case hex. */
  readonly rootFingerprint: string;
  /**
   * For each certificate (same index as {@link certificates}), whether a CRL of its issuer was
   * given and checked. The root is never covered.
   */
  readonly revocationChecked: readonly boolean[];
  /** Start of the window in which every certificate and CRL used is valid. */
  readonly validFrom: Date;
  /** End of that window. */
  readonly validUntil: Date;
}

/** Critical extensions this module checks itself (or that carry no constraint to enforce). */
const UNDERSTOOD_CRITICAL: readonly string[] = [
  ExtensionOid.basicConstraints,
  ExtensionOid.keyUsage,
  ExtensionOid.extKeyUsage,
  ExtensionOid.subjectAltName,
];

/**
 * Verifies a certificate chain from `leaf` to a pinned root.
 *
 * @example
 * ```ts
 * import { parseCertificate, parseCertificates, verifyChain } from "./mod.ts";
 *
 * async function verify(leafPem: string, chainPem: string, rootSha256: string) {
 *   return await verifyChain({
 *     leaf: parseCertificate(leafPem, "leaf"),
 *     intermediates: parseCertificates(chainPem, "chain"),
 *     trustAnchors: [rootSha256],
 *     now: new Date(),
 *     field: "chain",
 *   });
 * }
 * ```
 *
 * @throws {VerificationError} naming the failing link and the reason
 */
export async function verifyChain(options: VerifyChainOptions): Promise<VerifiedChain> {
  const { leaf, now, field, cache } = options;
  const intermediates = options.intermediates ?? [];
  const crls = options.crls ?? [];
  if (cache) {
    // A repeated chain (its certificates and CRLs hashed before): the cache is asked with the
    // same key as below, built without waiting for anything.
    const known = cache.memoizedKey(
      options.leaf,
      [
        options.leaf.field,
        options.maxLength,
        intermediates.length,
        ...intermediates,
        options.trustAnchors.length,
        ...options.trustAnchors,
        crls.length,
        ...crls,
        ...(options.understoodCriticalExtensions ?? []),
      ],
      () => knownChainCacheKey(options, intermediates, crls),
    );
    const hit = known === undefined ? undefined : cache.lookupChain<VerifiedChain>(known, now);
    if (hit) return hit;
  }
  const pinned = new Set<string>();
  const anchorCerts: Certificate[] = [];
  for (const anchor of options.trustAnchors) {
    if (typeof anchor === "string") {
      pinned.add(normaliseFingerprint(anchor));
    } else {
      pinned.add(await anchor.fingerprint());
      anchorCerts.push(anchor);
    }
  }
  if (pinned.size === 0) throw new VerificationError(field, "no trust anchor is pinned");
  const understood = new Set([
    ...UNDERSTOOD_CRITICAL,
    ...(options.understoodCriticalExtensions ?? []),
  ]);
  const maxLength = options.maxLength ?? 6;

  if (!cache) return await verifyFresh();
  const cacheKey = await chainCacheKey(
    leaf,
    intermediates,
    anchorCerts,
    pinned,
    crls,
    understood,
    maxLength,
  );
  const hit = cache.lookupChain<VerifiedChain>(cacheKey, now);
  if (hit) return hit;
  // The same chain being verified right now (pods of one machine share their VCEK): wait for it
  // and use its result if it holds at this `now`; its failure is not shared, verify afresh.
  const pending = cache.pendingChain(cacheKey);
  if (pending) {
    await pending.catch(() => {});
    const merged = cache.lookupChain<VerifiedChain>(cacheKey, now);
    if (merged) return merged;
  }
  // Stored before `work` settles, so whoever waited on it finds the entry.
  const work = verifyFresh().then((result) => {
    cache.storeChain(cacheKey, {
      value: result,
      validFrom: result.validFrom,
      validUntil: result.validUntil,
    });
    return result;
  });
  cache.trackPendingChain(cacheKey, work);
  return await work;

  async function verifyFresh(): Promise<VerifiedChain> {
    const pool = dedupe(
      [...intermediates, ...anchorCerts],
      await Promise.all(
        [...intermediates, ...anchorCerts].map((c) => c.fingerprint()),
      ),
    );
    const certificates = await optimisticPath(leaf, pool, pinned, field, maxLength, cache) ??
      await buildPath(leaf, pool, pinned, field, maxLength, cache);
    const root = certificates[certificates.length - 1]!;

    checkLinks(certificates, now, understood, field);
    const { revocationChecked, usedCrls } = await checkRevocation(
      certificates,
      crls,
      now,
      field,
      cache,
    );
    let validFrom = new Date(Math.max(...certificates.map((c) => c.notBefore.getTime())));
    let validUntil = new Date(Math.min(...certificates.map((c) => c.notAfter.getTime())));
    for (const crl of usedCrls) {
      if (crl.thisUpdate > validFrom) validFrom = crl.thisUpdate;
      if (crl.nextUpdate! < validUntil) validUntil = crl.nextUpdate!;
    }

    // Frozen: a cached result is handed to later callers, none may alter it for the others.
    const result: VerifiedChain = Object.freeze({
      certificates: Object.freeze(certificates),
      leaf,
      root,
      rootFingerprint: await root.fingerprint(),
      revocationChecked: Object.freeze(revocationChecked),
      validFrom,
      validUntil,
    });
    return result;
  }
}

/**
 * Every certificate of the path valid at `now`, with no critical extension outside `understood`,
 * and each (after the leaf) a CA allowed to sign the one below it.
 *
 * @throws {VerificationError} naming the certificate and the check that failed
 */
function checkLinks(
  certificates: readonly Certificate[],
  now: Date,
  understood: ReadonlySet<string>,
  field: string,
): void {
  for (const [i, cert] of certificates.entries()) {
    const name = linkName(field, cert);
    if (now < cert.notBefore || now > cert.notAfter) {
      throw new VerificationError(
        `${name}.validity`,
        `"${cert.subject}" is valid from ${cert.notBefore.toISOString()} to ` +
          `${cert.notAfter.toISOString()}, not at ${now.toISOString()}`,
      );
    }
    for (const ext of cert.extensions) {
      if (ext.critical && !understood.has(ext.oid)) {
        throw new VerificationError(
          `${name}.extensions`,
          `unsupported critical extension ${ext.oid}`,
        );
      }
    }
    if (i > 0) checkIssuer(cert, i, name);
  }
}

/**
 * Checks each certificate below the root against every CRL its issuer signed (each CRL verified
 * first: signature, issuer, freshness). Returns which certificates a CRL covered and the CRLs used.
 *
 * @throws {VerificationError} naming the revoked certificate, or the CRL that fails verification
 */
async function checkRevocation(
  certificates: readonly Certificate[],
  crls: readonly Crl[],
  now: Date,
  field: string,
  cache: ChainCache | undefined,
): Promise<{ revocationChecked: boolean[]; usedCrls: Set<Crl> }> {
  const revocationChecked: boolean[] = certificates.map(() => false);
  const usedCrls = new Set<Crl>();
  for (let i = 0; i < certificates.length - 1; i++) {
    const cert = certificates[i]!;
    const issuer = certificates[i + 1]!;
    for (const [n, crl] of crls.entries()) {
      if (!constantTimeEqual(crl.issuerDer, issuer.subjectDer)) continue;
      const crlField = `${field}.crls[${n}]`;
      await verifyCrlCached(crl, issuer, now, crlField, cache);
      usedCrls.add(crl);
      if (isRevoked(crl, cert.serialNumber)) {
        throw new VerificationError(
          `${linkName(field, cert)}.serialNumber`,
          `"${cert.subject}" (serial ${cert.serialNumber}) is revoked by the CRL of "${issuer.subject}"`,
        );
      }
      revocationChecked[i] = true;
    }
  }
  return { revocationChecked, usedCrls };
}

function linkName(field: string, cert: Certificate): string {
  return `${field}.${cert.field}`;
}

/** Basic constraints and key usage of the certificate at position `index` (≥ 1) of the chain. */
function checkIssuer(cert: Certificate, index: number, name: string): void {
  const bc = cert.basicConstraints;
  if (!bc?.ca) {
    throw new VerificationError(
      `${name}.basicConstraints`,
      `"${cert.subject}" issues certificates but is not a CA (basicConstraints cA is not true)`,
    );
  }
  const below = index - 1;
  if (bc.pathLength !== undefined && below > bc.pathLength) {
    throw new VerificationError(
      `${name}.basicConstraints`,
      `"${cert.subject}" allows ${bc.pathLength} intermediate CA(s) below it, chain has ${below}`,
    );
  }
  const usage = cert.keyUsage;
  if (usage !== undefined && !usage.has(KeyUsageBit.keyCertSign)) {
    throw new VerificationError(
      `${name}.keyUsage`,
      `"${cert.subject}" issues certificates but lacks the keyCertSign key usage`,
    );
  }
}

function dedupe(certs: Certificate[], fingerprints: string[]): Certificate[] {
  const seen = new Set<string>();
  return certs.filter((_, i) => {
    const fp = fingerprints[i]!;
    if (seen.has(fp)) return false;
    seen.add(fp);
    return true;
  });
}

/** The issuers of `cert` in `pool` by name and (where both are present) key identifier. */
function issuerCandidates(
  cert: Certificate,
  pool: readonly Certificate[],
  path: readonly Certificate[],
): Certificate[] {
  const aki = cert.authorityKeyIdentifier;
  return pool.filter((c) =>
    !path.includes(c) && constantTimeEqual(c.subjectDer, cert.issuerDer) &&
    (aki === undefined || c.subjectKeyIdentifier === undefined ||
      constantTimeEqual(aki, c.subjectKeyIdentifier))
  );
}

/**
 * The common case fast: when names lead to exactly one issuer at every step and end in a pinned
 * self-issued root, every signature of that path is verified concurrently. Returns undefined when
 * the path is ambiguous or anything fails; {@link buildPath} then searches and explains.
 */
async function optimisticPath(
  leaf: Certificate,
  pool: readonly Certificate[],
  pinned: ReadonlySet<string>,
  field: string,
  maxLength: number,
  cache: ChainCache | undefined,
): Promise<Certificate[] | undefined> {
  const path = [leaf];
  while (!path[path.length - 1]!.selfIssued) {
    if (path.length >= maxLength) return undefined;
    const candidates = issuerCandidates(path[path.length - 1]!, pool, path);
    if (candidates.length !== 1) return undefined;
    path.push(candidates[0]!);
  }
  if (!pinned.has(await path[path.length - 1]!.fingerprint())) return undefined;
  const results = await Promise.allSettled(
    path.map((cert, i) => verifyLink(cert, path[i + 1] ?? cert, linkName(field, cert), cache)),
  );
  return results.every((r) => r.status === "fulfilled") ? path : undefined;
}

/**
 * Most signature checks (cached ones included) one path search may make. Chains of the vendors'
 * PKIs need at most a handful; certificates that share names and keys can otherwise make the
 * search try every combination (exponential in the chain length) before it fails, which anyone
 * who hands in evidence (a PCK chain in a TDX quote) could use to burn CPU and memory. Go's
 * crypto/x509 bounds its search the same way (`maxChainSignatureChecks`, also 100).
 */
export const MAX_PATH_SIGNATURE_CHECKS = 100;

/**
 * Builds leaf → … → pinned root, verifying each link's signature on the way.
 *
 * @throws {VerificationError} naming the link that failed, or `field` when the search spent
 *   {@link MAX_PATH_SIGNATURE_CHECKS} signature checks without finding a chain
 */
async function buildPath(
  leaf: Certificate,
  pool: readonly Certificate[],
  pinned: ReadonlySet<string>,
  field: string,
  maxLength: number,
  cache: ChainCache | undefined,
): Promise<Certificate[]> {
  const failures: VerificationError[] = [];
  let checks = 0;
  const spendCheck = () => {
    if (++checks > MAX_PATH_SIGNATURE_CHECKS) {
      throw new VerificationError(
        field,
        `no chain to a pinned root within ${MAX_PATH_SIGNATURE_CHECKS} signature checks: ` +
          `${pool.length} candidate certificates are too many or too alike (the last failure: ` +
          `${failures[failures.length - 1]?.message ?? "none"})`,
      );
    }
  };
  const extend = async (path: Certificate[]): Promise<Certificate[] | undefined> => {
    const current = path[path.length - 1]!;
    const name = linkName(field, current);
    if (current.selfIssued) {
      const fingerprint = await current.fingerprint();
      if (!pinned.has(fingerprint)) {
        failures.push(
          new VerificationError(
            name,
            `root "${current.subject}" (SHA-256 ${fingerprint}) is not a pinned trust anchor`,
          ),
        );
        return undefined;
      }
      spendCheck();
      try {
        await verifyLink(current, current, name, cache);
      } catch (e) {
        failures.push(e as VerificationError);
        return undefined;
      }
      return path;
    }
    if (path.length >= maxLength) {
      failures.push(new VerificationError(name, `chain longer than ${maxLength} certificates`));
      return undefined;
    }
    const candidates = issuerCandidates(current, pool, path);
    if (candidates.length === 0) {
      failures.push(
        new VerificationError(
          `${name}.issuer`,
          `no certificate of issuer "${current.issuer}" was given to complete the chain`,
        ),
      );
      return undefined;
    }
    for (const candidate of candidates) {
      spendCheck();
      try {
        await verifyLink(current, candidate, name, cache);
      } catch (e) {
        if (!(e instanceof VerificationError)) throw e;
        failures.push(e);
        continue;
      }
      const found = await extend([...path, candidate]);
      if (found) return found;
    }
    return undefined;
  };
  const path = await extend([leaf]);
  if (path) return path;
  // The failure furthest along the chain is the most telling one.
  throw failures[failures.length - 1] ??
    new VerificationError(field, "no chain to a pinned root");
}

/**
 * The cache key of "`signed` verifies under `issuer`'s key": SHA-256 of the signed DER and of
 * the issuer's SPKI. A certificate's hashes are computed once per parsed object (a verifier that
 * keeps its parsed certificates hashes nothing on a cache hit).
 */
async function signatureKey(
  signedSha256: Promise<string>,
  issuer: Certificate,
): Promise<string> {
  const [a, b] = await Promise.all([signedSha256, issuer.spkiFingerprint()]);
  return `${a}:${b}`;
}

/** Verifies that `cert` is signed by `issuer`, consulting and filling the cache. */
async function verifyLink(
  cert: Certificate,
  issuer: Certificate,
  name: string,
  cache: ChainCache | undefined,
): Promise<void> {
  const verify = async () => {
    try {
      await verifySignedParts(cert, issuer.publicKey, name, () => `"${issuer.subject}"`);
    } catch (e) {
      if (e instanceof VerificationError && !e.field.startsWith(name)) {
        throw new VerificationError(name, e.message, { cause: e });
      }
      if (e instanceof VerificationError) throw e;
      throw new VerificationError(name, `cannot check the signature: ${String(e)}`, { cause: e });
    }
  };
  if (!cache) return await verify();
  await cache.verifySignatureOnce(await signatureKey(cert.fingerprint(), issuer), verify);
}

/**
 * {@link verifyCrl}, skipping the signature when the cache has seen it verified (and remembering
 * it verified, so a chain verification with the same CRL and issuer does not check it again).
 */
export async function verifyCrlCached(
  crl: Crl,
  issuer: Certificate,
  now: Date,
  field: string,
  cache: ChainCache | undefined,
): Promise<void> {
  if (!cache) return verifyCrl(crl, issuer, now, field);
  const key = await signatureKey(sha256(crl.der).then(encodeHex), issuer);
  // The signature part is skipped only when this exact CRL verified with this exact key (before,
  // or in a check under way that succeeded).
  const ran = await cache.verifySignatureOnce(key, () => verifyCrl(crl, issuer, now, field));
  if (!ran) checkCrlExceptSignature(crl, issuer, now, field);
}

/** The cache key of a chain verification: every input that can change its result except `now`. */
async function chainCacheKey(
  leaf: Certificate,
  intermediates: readonly Certificate[],
  anchors: readonly Certificate[],
  pinned: ReadonlySet<string>,
  crls: readonly Crl[],
  understood: ReadonlySet<string>,
  maxLength: number,
): Promise<string> {
  const all = (items: readonly { fingerprint(): Promise<string> }[]) =>
    Promise.all(items.map((i) => i.fingerprint()));
  const [leafFingerprint, intermediateFingerprints, anchorFingerprints, crlFingerprints] =
    await Promise.all([leaf.fingerprint(), all(intermediates), all(anchors), all(crls)]);
  return chainKey(
    leafFingerprint,
    leaf.field,
    intermediateFingerprints,
    intermediates,
    anchorFingerprints,
    [...pinned],
    crlFingerprints,
    [...understood],
    maxLength,
  );
}

/**
 * {@link chainCacheKey} from fingerprints computed before, or undefined when one is not known
 * yet (nothing is hashed here).
 */
function knownChainCacheKey(
  options: VerifyChainOptions,
  intermediates: readonly Certificate[],
  crls: readonly Crl[],
): string | undefined {
  const leafFingerprint = options.leaf.knownFingerprint();
  if (leafFingerprint === undefined) return undefined;
  const intermediateFingerprints = knownFingerprints(intermediates);
  const crlFingerprints = knownFingerprints(crls);
  if (intermediateFingerprints === undefined || crlFingerprints === undefined) return undefined;
  const anchorFingerprints: string[] = [];
  const pinned = new Set<string>();
  for (const anchor of options.trustAnchors) {
    if (typeof anchor === "string") {
      pinned.add(normaliseFingerprint(anchor));
    } else {
      const fingerprint = anchor.knownFingerprint();
      if (fingerprint === undefined) return undefined;
      pinned.add(fingerprint);
      anchorFingerprints.push(fingerprint);
    }
  }
  const understood = new Set(UNDERSTOOD_CRITICAL);
  for (const oid of options.understoodCriticalExtensions ?? []) understood.add(oid);
  return chainKey(
    leafFingerprint,
    options.leaf.field,
    intermediateFingerprints,
    intermediates,
    anchorFingerprints,
    [...pinned],
    crlFingerprints,
    [...understood],
    options.maxLength ?? 6,
  );
}

function knownFingerprints(
  items: readonly { knownFingerprint(): string | undefined }[],
): string[] | undefined {
  const out: string[] = [];
  for (const item of items) {
    const fingerprint = item.knownFingerprint();
    if (fingerprint === undefined) return undefined;
    out.push(fingerprint);
  }
  return out;
}

/** The key itself, from the inputs' fingerprints (lists in any order; sorted here). */
function chainKey(
  leafFingerprint: string,
  leafField: string,
  intermediateFingerprints: string[],
  intermediates: readonly Certificate[],
  anchorFingerprints: string[],
  pinned: string[],
  crlFingerprints: string[],
  understood: string[],
  maxLength: number,
): string {
  return [
    `leaf=${leafFingerprint}`,
    `field=${leafField}`,
    `intermediates=${intermediateFingerprints.sort().join(",")}|${
      intermediates.map((c) => c.field).join(",")
    }`,
    `anchors=${anchorFingerprints.sort().join(",")}`,
    `pinned=${pinned.sort().join(",")}`,
    `crls=${crlFingerprints.sort().join(",")}`,
    `critical=${understood.sort().join(",")}`,
    `max=${maxLength}`,
  ].join(";");
}
