/**
 * Simulated SNP authorities for tests. Generating RSA-4096 keys takes seconds, so each product's
 * authority is generated once, saved under `.cache/test-snp-authority/<product>` (git-ignored)
 * and loaded by every later test process.
 *
 * @module
 */
import type { SnpProductName } from "../../snp/abi/product.ts";
import { SimulatedSnpAuthority } from "../../testing/snp/mod.ts";

const CACHE_DIR = new URL("../../.cache/test-snp-authority/", import.meta.url).pathname;
const loaded = new Map<SnpProductName, Promise<SimulatedSnpAuthority>>();

async function loadOrGenerate(product: SnpProductName): Promise<SimulatedSnpAuthority> {
  const dir = `${CACHE_DIR}${product}`;
  try {
    return await SimulatedSnpAuthority.load(dir);
  } catch {
    const authority = await SimulatedSnpAuthority.generate({
      product,
      notBefore: new Date("2026-01-01T00:00:00Z"),
    });
    // Save to a private directory first and rename, so concurrent test processes never read a
    // half-written authority.
    const tmp = `${dir}.${crypto.randomUUID()}`;
    await authority.save(tmp);
    try {
      await Deno.rename(tmp, dir);
    } catch {
      await Deno.remove(tmp, { recursive: true });
    }
    return authority;
  }
}

/** The shared simulated authority of `product` (RSA-4096, valid from 2026-01-01). */
export function sharedAuthority(product: SnpProductName = "Milan"): Promise<SimulatedSnpAuthority> {
  let a = loaded.get(product);
  if (a === undefined) {
    a = loadOrGenerate(product);
    loaded.set(product, a);
  }
  return a;
}
