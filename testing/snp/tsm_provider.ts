/**
 * A configfs-tsm provider backed by a {@link SimulatedSnpAuthority}, for the TSM emulator: local
 * demos and tests get SEV-SNP evidence through the same guest code path as real hardware.
 *
 * @module
 */
import type { TsmProvider } from "../tsm_emulator.ts";
import { SNP_TSM_PROVIDER } from "../../snp/guest.ts";
import type { SimulatedReportInput, SimulatedSnpAuthority } from "./authority.ts";

/**
 * A provider named `sev_guest` whose reports bind the `inblob` as report data and the
 * `privlevel` as VMPL; `launch` fixes the rest (host data, measurement, policy, TCB).
 *
 * @example Back a configfs-tsm emulator with the simulated authority
 * ```ts
 * import { SimulatedSnpAuthority, simulatedSnpTsmProvider } from "../mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const provider = simulatedSnpTsmProvider(authority, { hostData: new Uint8Array(32) });
 * const { outblob } = await provider.produce(new Uint8Array(64), { privlevel: 0 });
 * console.log(provider.name, outblob.length); // "sev_guest" 1184
 * ```
 */
export function simulatedSnpTsmProvider(
  authority: SimulatedSnpAuthority,
  launch: Omit<SimulatedReportInput, "reportData" | "vmpl"> = {},
): TsmProvider {
  return {
    name: SNP_TSM_PROVIDER,
    async produce(inblob, { privlevel }) {
      const { report, aux } = await authority.createReport({
        ...launch,
        reportData: inblob,
        vmpl: privlevel,
      });
      return { outblob: report, auxblob: aux };
    },
  };
}
