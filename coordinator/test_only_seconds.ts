/**
 * The shared rule of the Coordinator's test-only knobs (a shorter mesh-certificate validity, a
 * longer challenge lifetime): a knob is refused unless the Coordinator runs on the simulated TEE,
 * and its value must be a whole number of seconds within the knob's bounds. Unset, the knob has no
 * effect. Each knob names its own flag in the errors.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";

/** What one test-only knob is called and how far it may go. */
interface TestOnlySecondsKnob {
  /** The flag, named in errors. */
  readonly flag: string;
  /** The largest number of seconds accepted (the smallest is 1). */
  readonly maxSeconds: number;
}

/**
 * The duration `raw` asks for, in ms, or undefined when it is unset.
 *
 * @param knob the knob's flag and upper bound
 * @param raw the flag's value (undefined or empty: unset)
 * @param evidenceKind the Coordinator's evidence source (`configfs-tsm`, `simulated-snp`, …)
 * @throws {ContrastError} naming the flag when the evidence is not simulated or the value is not
 *   a whole number of seconds from 1 to `knob.maxSeconds`
 */
export function testOnlySecondsMs(
  knob: TestOnlySecondsKnob,
  raw: string | undefined,
  evidenceKind: string,
): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!evidenceKind.startsWith("simulated-")) {
    throw new ContrastError(
      knob.flag,
      `only accepted on the simulated TEE (--evidence simulated-*), not with --evidence ${evidenceKind}`,
    );
  }
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < 1 || seconds > knob.maxSeconds) {
    throw new ContrastError(
      knob.flag,
      `"${raw}" must be a whole number of seconds from 1 to ${knob.maxSeconds}`,
    );
  }
  return seconds * 1000;
}
