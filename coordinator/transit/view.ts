/**
 * What the transit KMS sees of an active Coordinator: one immutable snapshot per manifest
 * generation (a new object after every update or recovery, so caches keyed by it drop stale
 * keys and certificates by themselves).
 *
 * @module
 */
import type { Manifest } from "../../manifest/manifest.ts";
import type { CertificateAuthority } from "../ca/certificate_authority.ts";

/** The active state as the transit KMS uses it. */
export interface TransitView {
  /** The current manifest (whose policies decide who owns which WorkloadSecretID). */
  readonly manifest: Manifest;
  /** Number of manifests in the history (1 after the first `set`): the latest key version. */
  readonly generation: number;
  /** The CA of this generation: client certificates must chain to its mesh CA. */
  readonly ca: CertificateAuthority;
  /** Raw AES-256 key of transit key (id, label, version), derived from the seed. */
  transitKey(id: string, label: string, version: number): Promise<Uint8Array>;
}
