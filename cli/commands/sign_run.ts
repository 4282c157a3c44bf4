/**
 * What the command below does once its flags are parsed (registered in `sign.ts`, which
 * imports this module only when the command runs, so `contrast sign --help` stays cheap).
 *
 * `contrast sign --prepare -c HOST:PORT [-m manifest.json] [--out FILE] [--prepared FILE]`
 *
 * For workload owners whose key lives in an HSM: attests the Coordinator against the local
 * manifest, computes the transition hash of the new manifest (the first included) (SHA-256 of the manifest hash and the
 * attested latest transition), and writes the 32 bytes to sign (`update-transition.bin`) plus
 * what `contrast set --signature FILE` needs to resume (`update-prepared.json`). Sign the bytes
 * with the owner key's curve hash (`openssl dgst -sha384 -sign key.pem -out sig.der
 * update-transition.bin`, or `openssl pkeyutl -sign` over their SHA-384 digest); ASN.1 DER and
 * raw IEEE P1363 signatures are accepted.
 *
 * @module
 */
import { attestTarget } from "../coordinator_target.ts";
import { requireNoEarlierDeployment, requireSameCoordinator } from "../owner_history.ts";
import { readLastVerified, requireLastVerifiedIn } from "../last_verified.ts";
import { decodeHex, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { writeFileAtomic } from "../../util/files/atomic_write.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { readEcdsaPublicKey } from "../../manifest/public_keys.ts";
import { type CliCollateralOptions, readLocalManifest } from "../../atls/workspace.ts";
import { ECDSA_HASH } from "../../protocol/ecdsa_signature.ts";
import {
  encodePreparedUpdate,
  PREPARED_UPDATE_SCHEMA,
  type PreparedSigner,
  type PreparedUpdate,
} from "../prepared_update.ts";

/** Options of {@link runSignPrepare}. */
export interface SignPrepareOptions {
  /** Coordinator user API `HOST:PORT`. */
  readonly coordinator: string;
  /** The manifest to update to. */
  readonly manifest: string;
  /** Where the 32 bytes to sign go. */
  readonly out: string;
  /** Where the prepared update document goes. */
  readonly prepared: string;
  /** Workspace folder (its `coordinator-root-ca.pem` identifies the owner's Coordinator). */
  readonly workspace: string;
  /** Time limit of each network operation in milliseconds. */
  readonly timeoutMs?: number;
  /** Where vendor collateral comes from. */
  readonly collateral?: CliCollateralOptions;
  /** Where progress goes. */
  readonly print?: (line: string) => void;
}

/** The workload owner keys of `manifest` that can sign, with their curve and hash. */
function currentSigners(activeManifest: Uint8Array): PreparedSigner[] {
  const keys = parseManifest(activeManifest).WorkloadOwnerPubKeys ?? [];
  const signers: PreparedSigner[] = [];
  for (const [keyIndex, hex] of keys.entries()) {
    const info = readEcdsaPublicKey(decodeHex(hex, `WorkloadOwnerPubKeys[${keyIndex}]`));
    if ("error" in info) continue;
    signers.push({ keyIndex, curve: info.curve, hash: ECDSA_HASH[info.curve] });
  }
  return signers;
}

/**
 * Runs `contrast sign --prepare`: attests, computes the transition hash and writes both files.
 *
 * @throws {ParseError} when no workload owner key can sign (the active manifest's, or for the
 * first manifest its own)
 */
export async function runSignPrepare(options: SignPrepareOptions): Promise<PreparedUpdate> {
  const print = options.print ?? console.log;
  const local = await readLocalManifest(options.manifest);
  const lastVerified = await readLastVerified(options.workspace);
  const attested = await attestTarget(options, local.manifest);
  if (attested.state.recoveryNeeded) {
    throw new UnavailableError("coordinator", "the Coordinator needs recovery first");
  }
  await requireSameCoordinator(attested.state, options.workspace);
  await requireNoEarlierDeployment(attested.state, options.workspace);
  await requireLastVerifiedIn(lastVerified, attested.state.manifests, "nothing is prepared");
  // An update is signed by a key of the active manifest; the first manifest by a key it lists.
  const active = attested.state.manifests.at(-1);
  const signerManifest = active ?? local.bytes;
  const signers = currentSigners(signerManifest);
  // Owners named only by digest (WorkloadOwnerKeyDigests, older Contrast manifests) sign too;
  // their curve is known only from their key, so no signer entry describes them.
  const byDigest = parseManifest(signerManifest).WorkloadOwnerKeyDigests.length;
  if (signers.length === 0 && byDigest === 0) {
    throw new ParseError(
      active ? "WorkloadOwnerPubKeys" : `${options.manifest}: WorkloadOwnerPubKeys`,
      active
        ? "the Coordinator's current manifest has no workload owner keys: updates are disabled"
        : "lists no workload owner key to sign it",
    );
  }
  const previous = attested.state.latestTransition ?? GENESIS_TRANSITION;
  const manifestDigest = await manifestHash(local.bytes);
  const transition = await transitionHash(manifestDigest, previous);
  const prepared: PreparedUpdate = {
    schema: PREPARED_UPDATE_SCHEMA,
    coordinator: options.coordinator,
    manifest: options.manifest,
    manifestSha256: encodeHex(manifestDigest),
    previousTransition: encodeHex(previous),
    transition: encodeHex(transition),
    transitionFile: options.out,
    signers,
  };
  await writeFileAtomic(options.out, transition);
  await writeFileAtomic(options.prepared, encodePreparedUpdate(prepared));
  print(`✔ Coordinator attested (${attested.claims.platform}, coordinator policy matches)`);
  print(`✔ Prepared update: transition ${prepared.transition}`);
  print(`  wrote ${options.out} (the 32 bytes to sign) and ${options.prepared}`);
  for (const s of signers) {
    const dgst = s.hash.toLowerCase().replace("-", "");
    print(
      `  owner key ${s.keyIndex} (${s.curve}): openssl dgst -${dgst} -sign KEY -out update.sig ${options.out}`,
    );
  }
  if (byDigest > 0) {
    print(
      `  ${byDigest} owner(s) named by key digest: openssl dgst -sha256|-sha384|-sha512 (the ` +
        `key's curve: P-256, P-384, P-521) -sign KEY -out update.sig ${options.out}`,
    );
  }
  print(`  then: contrast set --signature update.sig -c ${options.coordinator} PATH...`);
  return prepared;
}
