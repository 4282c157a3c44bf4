/**
 * The identifiers the Kubernetes control plane, containerd and the Kata runtime invent for a pod:
 * container and sandbox IDs, exec IDs, pod UIDs, generated pod-name suffixes and the random parts
 * of shared-file names. The checker randomises them on every run so a policy that pinned one value
 * by accident fails the check.
 *
 * @module
 */
import { encodeHex as toHex } from "../../util/bytes/mod.ts";

/** A source of random bytes; pass {@link seededRandom} for reproducible runs. */
export interface RandomSource {
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

/** Random bytes from the operating system. */
export const systemRandom: RandomSource = {
  bytes(n: number): Uint8Array {
    return crypto.getRandomValues(new Uint8Array(n));
  },
};

/**
 * A deterministic random source (xoshiro128**) seeded from a number, for tests that must replay
 * the same identifiers. Not for secrets.
 */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0 || 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = 0x85a308d3;
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  for (let i = 0; i < 16; i++) next();
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = next();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** 64 lowercase hex characters: a containerd container or sandbox ID. */
export function containerId(rng: RandomSource): string {
  return toHex(rng.bytes(32));
}

/** A random RFC 4122 version-4 UUID: pod UIDs and exec IDs. */
export function uuid(rng: RandomSource): string {
  const b = rng.bytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `n` lowercase hex characters. */
export function hexString(rng: RandomSource, n: number): string {
  return toHex(rng.bytes(Math.ceil(n / 2))).slice(0, n);
}

/** The alphabet of Kubernetes' `rand.String` (no vowels, no confusable digits). */
const KUBE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** `n` characters as Kubernetes' generateName and pod-template-hash produce them. */
export function kubeSuffix(rng: RandomSource, n: number): string {
  const bytes = rng.bytes(n * 2);
  let out = "";
  for (let i = 0; i < n; i++) {
    out += KUBE_ALPHABET[((bytes[2 * i] << 8) | bytes[2 * i + 1]) % KUBE_ALPHABET.length];
  }
  return out;
}

/** The controller that owns a pod, which decides how its name is generated. */
export type PodOwnerKind =
  | "Pod"
  | "Deployment"
  | "ReplicaSet"
  | "ReplicationController"
  | "StatefulSet"
  | "DaemonSet"
  | "Job"
  | "CronJob";

/**
 * A pod name as the controller `kind` generates it from the workload `name`: Deployment
 * `name-<hash>-<5>`, ReplicaSet/ReplicationController/DaemonSet/Job `name-<5>`, StatefulSet
 * `name-<ordinal>`, CronJob `name-<scheduled minute>-<5>`, a bare Pod keeps its name.
 */
export function generatedPodName(kind: PodOwnerKind, name: string, rng: RandomSource): string {
  switch (kind) {
    case "Pod":
      return name;
    case "Deployment":
      // pod-template-hash: a 32-bit hash in Kubernetes' safe alphabet, 8 to 10 characters.
      return generateName(`${name}-${kubeSuffix(rng, 8 + (rng.bytes(1)[0] % 3))}-`, rng);
    case "ReplicaSet":
    case "ReplicationController":
    case "DaemonSet":
    case "Job":
      return generateName(`${name}-`, rng);
    case "StatefulSet":
      return `${name}-${rng.bytes(1)[0] % 5}`;
    case "CronJob": {
      const b = rng.bytes(4);
      const minutes = 29_000_000 + (((b[0] << 16) | (b[1] << 8) | b[2]) % 1_000_000);
      return generateName(`${name}-${minutes}-`, rng);
    }
  }
}

/**
 * The name a workload's pod gets: {@link generatedPodName}, or for a Pod with only
 * `metadata.generateName` the API server's generated name (the prefix and 5 characters).
 */
export function podNameOf(
  w: { readonly kind: PodOwnerKind; readonly name: string; readonly generateName?: boolean },
  rng: RandomSource,
): string {
  return w.generateName ? generateName(w.name, rng) : generatedPodName(w.kind, w.name, rng);
}

/** Longest base the API server keeps of a `generateName` before the 5 random characters. */
const MAX_GENERATED_BASE = 58;

/** The API server's `generateName`: the base cut to 58 characters, then 5 random characters. */
function generateName(base: string, rng: RandomSource): string {
  return `${base.slice(0, MAX_GENERATED_BASE)}${kubeSuffix(rng, 5)}`;
}
