/**
 * The SEV-SNP reference value tests pin for the reports of a simulated SNP authority.
 *
 * @module
 */

/**
 * A reference value for `productName` of a simulated SNP authority whose root has the
 * fingerprint `rootFingerprint`: zero launch measurement, minimum TCB 0, guest policy
 * `guestPolicy` (default: SMT allowed).
 */
export function simulatedSnpReference(
  productName: string,
  rootFingerprint: string,
  guestPolicy: Record<string, boolean> = { SMT: true },
) {
  return {
    Platform: "Simulated-SNP",
    ProductName: productName,
    TrustedMeasurement: "00".repeat(48),
    MinimumTCB: { BootloaderVersion: 0, TEEVersion: 0, SNPVersion: 0, MicrocodeVersion: 0 },
    GuestPolicy: guestPolicy,
    SimulatedRootSHA256: rootFingerprint,
  };
}
