/**
 * A configfs-tsm provider backed by a {@link SimulatedSnpAuthority}, for the TSM emulator: local
 * demos and tests get SEV-SNP evidence through the same guest code path as real hardware.
 *
 * @module
 */
import type { TsmProvider } from "../../evidence/tsm_emulator.ts";
import { SNP_TSM_PROVIDER } from "../../snp/guest.ts";
import type { SimulatedReportInput, SimulatedSnpAuthority } from "./authority.ts";

/**
 * A provider named `sev_guest` whose reports bind the `inblob` as report data and the
 * `privlevel` as VMPL; `launch` fixes the rest (host data, measurement, policy, TCB).
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
