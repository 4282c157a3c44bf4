/**
 * A local stand-in for AMD's Key Distribution Service serving a {@link SimulatedSnpAuthority}'s
 * chain at KDS's paths (`/vcek/v1/{product}/{hwId}?…SPL=…`, `/cert_chain`, `/crl`), so the
 * Coordinator, initializer and CLI run their real fetch-and-cache path against simulated chips.
 * It can be switched to answer 503 (KDS overloaded) or closed (connection refused), to test how
 * the components behave while the vendor service is down.
 *
 * @module
 */
import type { SimulatedSnpAuthority } from "./authority.ts";
import { type StandInMode, startVendorStandIn, type VendorStandIn } from "../vendor_stand_in.ts";

/** What the stand-in does with a request. */
type KdsStandInMode = StandInMode;

/** A running stand-in on 127.0.0.1 (pass its `base` as `--kds-url`). */
type KdsStandIn = VendorStandIn;

/** The TCB a VCEK request asks for (its `…SPL` query parameters), or undefined if malformed. */
function requestedTcb(url: URL) {
  const spl = (name: string) => {
    const value = url.searchParams.get(name);
    return value !== null && /^\d{1,3}$/.test(value) ? Number(value) : undefined;
  };
  const tcb = {
    bootloader: spl("blSPL"),
    tee: spl("teeSPL"),
    snp: spl("snpSPL"),
    microcode: spl("ucodeSPL"),
  };
  if (Object.values(tcb).some((v) => v === undefined)) return undefined;
  const fmc = spl("fmcSPL");
  return { ...tcb, ...(fmc !== undefined ? { fmc } : {}) } as {
    bootloader: number;
    tee: number;
    snp: number;
    microcode: number;
    fmc?: number;
  };
}

/**
 * Starts a stand-in for `authority` on a free loopback port. The CRL it serves is issued once
 * (valid 7 days), as AMD's is, so clients cache it.
 */
export async function startKdsStandIn(authority: SimulatedSnpAuthority): Promise<KdsStandIn> {
  const prefix = `/vcek/v1/${authority.product}/`;
  const chainPem = authority.askPem + "\n" + authority.arkPem + "\n";
  const now = Date.now();
  const crl = await authority.issueCrl({
    thisUpdate: new Date(now - 60_000),
    nextUpdate: new Date(now + 7 * 86400_000),
  });
  const hwId = Array.from(authority.hwId, (b) => b.toString(16).padStart(2, "0")).join("");
  return startVendorStandIn(async (url) => {
    if (url.pathname === `${prefix}cert_chain`) return new Response(chainPem);
    if (url.pathname === `${prefix}crl`) return new Response(crl as Uint8Array<ArrayBuffer>);
    const tcb = requestedTcb(url);
    if (url.pathname === `${prefix}${hwId}` && tcb) {
      return new Response(await authority.vcekFor(tcb) as Uint8Array<ArrayBuffer>);
    }
    return new Response("not found", { status: 404 });
  });
}
