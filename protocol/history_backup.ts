/**
 * A history backup: everything a Coordinator's store holds that matters, as one JSON document
 * (`verify/history.json`, written by `contrast verify`; the Coordinator restores an empty store
 * from it with `--restore-history`, `coordinator/history/restore.ts`).
 *
 * ```json
 * {"version": 1,
 *  "latestRecord": "<hex: transition ‖ history-key signature, as stored>",
 *  "manifests": [{"manifest": "<base64>", "signature": "<hex owner signature>"}, …],
 *  "policies": {"<sha256 hex>": "<base64 initdata>"},
 *  "seedShares": "<base64 seed-shares.json>"}
 * ```
 *
 * Nothing in a backup is secret (the seed shares are RSA-OAEP encrypted to their owners), and
 * nothing in it is trusted: {@link parseHistoryBackup} re-derives every transition from the
 * manifests, checks the owner chain (every manifest owner-signed, `protocol/owner_chain.ts`), that
 * the latest record names the last transition, and that every policy hashes to its digest and
 * every manifest's policies are present. The latest record's history-key signature is checked
 * when the owners recover the seed: a seed whose history key does not verify it is refused, so a
 * restored store is accepted only with the genuine seed.
 *
 * @module
 */
import {
  constantTimeEqual,
  decodeBase64,
  decodeHex,
  encodeBase64,
  encodeHex,
  sha256,
} from "../util/bytes/mod.ts";
import { ParseError, VerificationError } from "../util/errors/mod.ts";
import { IssueList, ObjectReader, parseJsonDocument } from "../util/json/mod.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { workloadOwnersOf } from "../manifest/workload_owners.ts";
import { verifyOwnerChain } from "./owner_chain.ts";

/** Length of a stored latest record: transition (32) ‖ P-384 P1363 signature (96). */
const LATEST_RECORD_LENGTH = 128;

/** One manifest of a backup with its owner signature. */
interface BackupEntry {
  /** The exact manifest bytes. */
  readonly manifest: Uint8Array;
  /** The owner's signature over the manifest's transition. */
  readonly signature: Uint8Array;
}

/** A history backup. */
export interface HistoryBackup {
  /** The stored latest record (transition ‖ history-key signature). */
  readonly latestRecord: Uint8Array;
  /** Every manifest, oldest first. */
  readonly manifests: readonly BackupEntry[];
  /** initdata documents by hex digest. */
  readonly policies: ReadonlyMap<string, Uint8Array>;
  /** The encrypted seed-share document of the first transition, when known. */
  readonly seedShares?: Uint8Array;
}

/** The backup document (JSON text). */
export function encodeHistoryBackup(backup: HistoryBackup): string {
  return JSON.stringify(
    {
      version: 1,
      latestRecord: encodeHex(backup.latestRecord),
      manifests: backup.manifests.map((e) => ({
        manifest: encodeBase64(e.manifest),
        signature: encodeHex(e.signature),
      })),
      policies: Object.fromEntries(
        [...backup.policies].map(([digest, doc]) => [digest, encodeBase64(doc)]),
      ),
      ...(backup.seedShares ? { seedShares: encodeBase64(backup.seedShares) } : {}),
    },
    null,
    2,
  ) + "\n";
}

function bytesField(
  reader: ObjectReader,
  key: string,
  decode: (text: string, field: string) => Uint8Array,
  required = true,
): Uint8Array | undefined {
  const text = reader.string(key, required);
  if (text === undefined) return undefined;
  try {
    return decode(text, `${reader.path}.${key}`);
  } catch (e) {
    reader.issues.add(`${reader.path ? `${reader.path}.` : ""}${key}`, (e as Error).message);
    return undefined;
  }
}

/** Reads the document's fields strictly (shape only). */
function readBackup(bytes: Uint8Array): HistoryBackup {
  const issues = new IssueList();
  const root = new ObjectReader(parseJsonDocument(bytes), "", issues);
  const version = root.integer("version");
  if (version !== undefined && version !== 1) issues.add("version", "expected 1");
  const latestRecord = bytesField(root, "latestRecord", (t, f) => decodeHex(t, f));
  const manifests = root.array("manifests", (v, path) => {
    const r = new ObjectReader(v, path, issues);
    if (!r.ok) return undefined;
    const manifest = bytesField(r, "manifest", decodeBase64);
    const signature = bytesField(r, "signature", (t, f) => decodeHex(t, f));
    r.finish();
    return manifest && signature ? { manifest, signature } : undefined;
  }) ?? [];
  const policies = new Map<string, Uint8Array>();
  root.object("policies", (p) => {
    for (const digest of p.keys()) {
      if (!/^[0-9a-f]{64}$/.test(digest)) {
        issues.add(`policies.${digest}`, "key must be a lower-case hex SHA-256 digest");
        p.raw(digest);
        continue;
      }
      const doc = bytesField(p, digest, decodeBase64);
      if (doc) policies.set(digest, doc);
    }
  });
  const seedShares = bytesField(root, "seedShares", decodeBase64, false);
  root.finish();
  issues.throwIfAny();
  return {
    latestRecord: latestRecord!,
    manifests,
    policies,
    ...(seedShares ? { seedShares } : {}),
  };
}

/**
 * Parses and checks a backup (see the module documentation).
 *
 * @param source the file name, prefixed to every error's field
 * @throws {InvalidDocumentError | ParseError} for a malformed document, {@link VerificationError}
 *   naming the field that does not check out
 */
export async function parseHistoryBackup(
  bytes: Uint8Array,
  parseManifest: (bytes: Uint8Array) => Manifest,
  source = "history backup",
): Promise<HistoryBackup> {
  const backup = readBackup(bytes);
  if (backup.manifests.length === 0) throw new ParseError(`${source}: manifests`, "empty");
  if (backup.latestRecord.length !== LATEST_RECORD_LENGTH) {
    throw new ParseError(`${source}: latestRecord`, `expected ${LATEST_RECORD_LENGTH} bytes`);
  }
  const { transitions } = await verifyOwnerChain(
    backup.manifests.map((e) => ({ bytes: e.manifest, signature: e.signature })),
    (m) => workloadOwnersOf(parseManifest(m)),
  ).catch((cause) => {
    throw new VerificationError(`${source}: ${cause.field ?? "manifests"}`, cause.reason ?? "", {
      cause,
    });
  });
  if (!constantTimeEqual(backup.latestRecord.subarray(0, 32), transitions.at(-1)!)) {
    throw new VerificationError(
      `${source}: latestRecord`,
      "does not name the last manifest's transition",
    );
  }
  for (const [digest, doc] of backup.policies) {
    if (encodeHex(await sha256(doc)) !== digest) {
      throw new VerificationError(`${source}: policies.${digest}`, "does not hash to its digest");
    }
  }
  for (const [i, entry] of backup.manifests.entries()) {
    for (const digest of Object.keys(parseManifest(entry.manifest).Policies)) {
      if (!backup.policies.has(digest)) {
        throw new ParseError(
          `${source}: policies`,
          `missing the initdata of policy ${digest} (manifests[${i}])`,
        );
      }
    }
  }
  return backup;
}
