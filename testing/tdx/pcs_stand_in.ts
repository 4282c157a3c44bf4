/**
 * A local stand-in for Intel's Provisioning Certification Service serving a
 * {@link SimulatedTdxAuthority}'s collateral at PCS v4's paths, with the headers PCS sends, so the
 * Coordinator, initializer and CLI run their real fetch-verify-cache path (`tdx/pcs/client.ts`)
 * against simulated TDX platforms:
 *
 * - `GET /tdx/certification/v4/tcb?fmspc=<hex>`: TCB info JSON, `TCB-Info-Issuer-Chain` header
 *   (URL-encoded PEM: TCB signing certificate, root); 400 without a 6-byte hex FMSPC, 404 for an
 *   FMSPC other than the platform's;
 * - `GET /tdx/certification/v4/qe/identity`: TD QE identity JSON,
 *   `SGX-Enclave-Identity-Issuer-Chain` header;
 * - `GET /sgx/certification/v4/pckcrl?ca=platform[&encoding=der|pem]`: the PCK Platform CA's CRL
 *   (PEM unless `encoding=der`, as PCS), `SGX-PCK-CRL-Issuer-Chain` header; 400 for another `ca`
 *   value, 404 for `processor` (the simulated platform's PCK is issued by a Platform CA);
 * - `GET /sgx/certification/v4/rootcacrl`: the root CA's CRL, DER.
 *
 * The collateral is signed once at start (valid 30 days), so clients cache it. Like the KDS
 * stand-in it can answer 503 or refuse connections ({@link VendorStandIn}).
 *
 * @module
 */
import { encodeHex, encodePem } from "../../util/bytes/mod.ts";
import type { SimulatedTdxAuthority } from "./authority.ts";
import { startVendorStandIn, type VendorStandIn } from "../vendor_stand_in.ts";

/** PCS v4 paths the stand-in serves. */
const PCS_PATHS = {
  tcbInfo: "/tdx/certification/v4/tcb",
  qeIdentity: "/tdx/certification/v4/qe/identity",
  pckCrl: "/sgx/certification/v4/pckcrl",
  rootCaCrl: "/sgx/certification/v4/rootcacrl",
} as const;

/** A running PCS stand-in on 127.0.0.1 (pass its `base` as `--pcs-url` / `CONTRAST_PCS_URL`). */
type PcsStandIn = VendorStandIn;

function issuerChain(name: string, pem: string): Record<string, string> {
  return { [name]: encodeURIComponent(pem) };
}

function body(bytes: Uint8Array, contentType: string, headers: Record<string, string> = {}) {
  return new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": contentType, ...headers },
  });
}

/** Starts a PCS stand-in for `authority` on a free loopback port. */
export async function startPcsStandIn(authority: SimulatedTdxAuthority): Promise<PcsStandIn> {
  const c = await authority.collateral({ now: new Date() });
  const fmspc = encodeHex(authority.platform.fmspc).toUpperCase();
  const pckCrlPem = new TextEncoder().encode(encodePem("X509 CRL", c.pckCrl!));
  return startVendorStandIn((url) => {
    const q = url.searchParams;
    switch (url.pathname) {
      case PCS_PATHS.tcbInfo: {
        const asked = q.get("fmspc") ?? "";
        if (!/^[0-9a-fA-F]{12}$/.test(asked)) return new Response("bad fmspc", { status: 400 });
        if (asked.toUpperCase() !== fmspc) return new Response("no such FMSPC", { status: 404 });
        return body(
          c.tcbInfo,
          "application/json",
          issuerChain("TCB-Info-Issuer-Chain", c.tcbInfoIssuerChain),
        );
      }
      case PCS_PATHS.qeIdentity:
        return body(
          c.qeIdentity,
          "application/json",
          issuerChain("SGX-Enclave-Identity-Issuer-Chain", c.qeIdentityIssuerChain),
        );
      case PCS_PATHS.pckCrl: {
        const ca = q.get("ca");
        if (ca !== "platform" && ca !== "processor") {
          return new Response("bad ca", { status: 400 });
        }
        if (ca === "processor") return new Response("no processor CA", { status: 404 });
        const chain = issuerChain("SGX-PCK-CRL-Issuer-Chain", c.pckCrlIssuerChain!);
        return q.get("encoding") === "der"
          ? body(c.pckCrl!, "application/pkix-crl", chain)
          : body(pckCrlPem, "application/x-pem-file", chain);
      }
      case PCS_PATHS.rootCaCrl:
        return body(c.rootCaCrl!, "application/pkix-crl");
      default:
        return new Response("not found", { status: 404 });
    }
  });
}
