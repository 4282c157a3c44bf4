/**
 * The quote and collateral the TDX benchmarks verify: the real up-to-date vector when
 * ../shared/conformance is present, else a simulated quote with its own collateral.
 *
 * @module
 */
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { readTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { SimulatedTdxAuthority } from "../../testing/tdx/authority.ts";
import type { TdxCollateral } from "../../tdx/verify/collateral_bundle.ts";
import { conformanceAvailable, conformanceFile } from "../conformance.ts";

/** What a benchmark verifies. */
interface BenchFixture {
  /** Where it comes from. */
  readonly source: string;
  /** The quote bytes. */
  readonly quote: Uint8Array;
  /** Its collateral. */
  readonly collateral: TdxCollateral;
  /** A time inside every validity window. */
  readonly now: Date;
  /** The root to pin. */
  readonly anchor: string;
  /** The root certificate (DER) for verifiers that take one. */
  readonly rootDer?: Uint8Array;
}

/** Loads the benchmark fixture. */
export async function loadBenchFixture(): Promise<BenchFixture> {
  if (conformanceAvailable) {
    const dir = conformanceFile("tdx/v4-phala-b0c06f-uptodate").pathname;
    return {
      source: "real quote v4-phala-b0c06f-uptodate",
      quote: await Deno.readFile(`${dir}/quote.bin`),
      collateral: await readTdxCollateralDir(dir),
      now: new Date("2025-06-19T11:32:27Z"),
      anchor: INTEL_SGX_ROOT_CA_SHA256,
    };
  }
  const authority = await SimulatedTdxAuthority.generate();
  const now = new Date();
  return {
    source: "simulated quote (../shared/conformance absent)",
    quote: await authority.createQuote({ reportData: new Uint8Array(64) }),
    collateral: await authority.collateral({ now }),
    now,
    anchor: await authority.rootFingerprint(),
    rootDer: authority.rootCertificateDer,
  };
}
