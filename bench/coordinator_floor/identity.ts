/**
 * The TLS identity the connection-layer benchmarks serve: shaped like the Coordinator's (a P-256
 * key, self-signed, simulated SNP evidence in the certificate), so the handshake carries a
 * certificate of the real size.
 *
 * @module
 */
import "reflect-metadata";
import {
  createAttestedTlsIdentity,
  generateTlsKeyPair,
  type TlsIdentity,
} from "../../atls/certificate.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import { snpAuthority } from "../../testing/simulation/deployment.ts";

/** A fresh identity shaped like the Coordinator's. */
export async function coordinatorShapedIdentity(): Promise<TlsIdentity> {
  const evidence = await new SimulatedSnpEvidenceSource(await snpAuthority(), {
    hostData: new Uint8Array(32),
  }).getEvidence(new Uint8Array(64));
  return await createAttestedTlsIdentity(await generateTlsKeyPair(), evidence);
}
