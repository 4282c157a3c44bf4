/**
 * A simulated `tdx_guest` provider for the configfs-tsm emulator, backed by a
 * {@link SimulatedTdxAuthority}.
 *
 * @module
 */
import type { TsmProvider } from "../tsm_emulator.ts";
import { TDX_TSM_PROVIDER } from "../../tdx/guest.ts";
import type { SimulatedQuoteOptions, SimulatedTdxAuthority } from "./authority.ts";

/**
 * A simulated `tdx_guest` provider for the configfs-tsm emulator: each report is a quote signed
 * by `authority` over `inblob`, with the TD's fixed measurements from `td`.
 *
 * @example Back a configfs-tsm emulator with the simulated TDX authority
 * ```ts
 * import { SimulatedTdxAuthority, simulatedTdxTsmProvider } from "../mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const provider = simulatedTdxTsmProvider(authority);
 * const { outblob } = await provider.produce(new Uint8Array(64), { privlevel: 0 });
 * console.log(provider.name, outblob.length > 0); // "tdx_guest" true
 * ```
 */
export function simulatedTdxTsmProvider(
  authority: SimulatedTdxAuthority,
  td: Omit<SimulatedQuoteOptions, "reportData"> = {},
): TsmProvider {
  return {
    name: TDX_TSM_PROVIDER,
    async produce(inblob: Uint8Array) {
      return { outblob: await authority.createQuote({ ...td, reportData: inblob }) };
    },
  };
}
