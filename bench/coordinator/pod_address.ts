/**
 * The loopback address a simulated pod connects from, so that benchmarks playing many pods from
 * one process meet the Coordinator as many pods do: every real pod has its own address, and the
 * Coordinator's per-client bounds (connections, handshakes under way, the request budget) apply per
 * address, so pods sharing one address would hit them and measure those bounds instead.
 *
 * @example
 * ```ts
 * import { podAddress } from "./pod_address.ts";
 * console.assert(podAddress(0) === "127.1.0.1" && podAddress(250) === "127.1.1.1");
 * ```
 *
 * @module
 */

/** Distinct addresses before they repeat. */
const ADDRESSES = 250 * 250;

/** The loopback address of the `index`-th simulated pod: 127.1.0.1 onwards, 62,500 distinct. */
export function podAddress(index: number): string {
  const n = index % ADDRESSES;
  return `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}
