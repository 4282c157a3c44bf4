/**
 * The Coordinator's one test-only knob: a shorter validity for the mesh certificates it issues,
 * so an end-to-end test can present a certificate the real Coordinator issued once it has
 * expired (nothing in the proxy or the Coordinator fakes the clock). It fails closed: it is
 * refused unless the Coordinator runs on the simulated TEE, a value that is not a whole number of
 * seconds between 1 and the normal validity is refused, and without it every certificate is
 * valid for {@link LEAF_VALIDITY_MS}.
 *
 * @module
 */
import { ContrastError } from "../../util/errors/mod.ts";
import { LEAF_VALIDITY_MS } from "./certificate_authority.ts";

/** The flag (and, upper-cased with `CONTRAST_` in front, the environment variable). */
export const TEST_ONLY_VALIDITY_FLAG = "test-only-mesh-certificate-validity-seconds";

/** Its environment variable. */
export const TEST_ONLY_VALIDITY_ENV = "CONTRAST_TEST_ONLY_MESH_CERTIFICATE_VALIDITY_SECONDS";

/**
 * The mesh certificate validity `raw` asks for, in ms, or undefined when it is unset (the normal
 * validity applies).
 *
 * @param raw the flag's value (undefined or empty: unset)
 * @param evidenceKind the Coordinator's evidence source (`configfs-tsm`, `simulated-snp`, …)
 * @throws {ContrastError} naming the flag when the evidence is not simulated or the value is not
 *   a whole number of seconds from 1 to the normal validity
 */
export function testOnlyMeshCertificateValidityMs(
  raw: string | undefined,
  evidenceKind: string,
): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!evidenceKind.startsWith("simulated-")) {
    throw new ContrastError(
      TEST_ONLY_VALIDITY_FLAG,
      `only accepted on the simulated TEE (--evidence simulated-*), not with --evidence ${evidenceKind}`,
    );
  }
  const seconds = Number(raw);
  const maxSeconds = LEAF_VALIDITY_MS / 1000;
  if (!/^\d+$/.test(raw) || seconds < 1 || seconds > maxSeconds) {
    throw new ContrastError(
      TEST_ONLY_VALIDITY_FLAG,
      `"${raw}" must be a whole number of seconds from 1 to ${maxSeconds}`,
    );
  }
  return seconds * 1000;
}
