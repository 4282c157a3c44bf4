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

/** What the stand-in does with a request. */
type KdsStandInMode = "up" | "unavailable";

/** A running stand-in on 127.0.0.1. */
interface KdsStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234` (pass as `--kds-url`). */
  readonly base: string;
  /** Requests received (path and query), in order. */
  readonly requests: readonly string[];
  /** `up` serves the chain; `unavailable` answers 503 to everything. */
  mode: KdsStandInMode;
  /** With `unavailable`: the `Retry-After` seconds the 503 carries (default none). */
  retryAfterSeconds?: number;
  /** Stops listening: later requests get "connection refused". */
  close(): Promise<void>;
}

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
  const requests: string[] = [];
  const prefix = `/vcek/v1/${authority.product}/`;
  const chainPem = authority.askPem + "\n" + authority.arkPem + "\n";
  const now = Date.now();
  const crl = await authority.issueCrl({
    thisUpdate: new Date(now - 60_000),
    nextUpdate: new Date(now + 7 * 86400_000),
  });
  const hwId = Array.from(authority.hwId, (b) => b.toString(16).padStart(2, "0")).join("");
  const state: { mode: KdsStandInMode; retryAfterSeconds?: number } = { mode: "up" };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      requests.push(url.pathname + url.search);
      if (state.mode === "unavailable") {
        const retryAfter = state.retryAfterSeconds;
        return new Response("service unavailable", {
          status: 503,
          ...(retryAfter !== undefined ? { headers: { "retry-after": String(retryAfter) } } : {}),
        });
      }
      if (url.pathname === `${prefix}cert_chain`) return new Response(chainPem);
      if (url.pathname === `${prefix}crl`) return new Response(crl as Uint8Array<ArrayBuffer>);
      const tcb = requestedTcb(url);
      if (url.pathname === `${prefix}${hwId}` && tcb) {
        return new Response(await authority.vcekFor(tcb) as Uint8Array<ArrayBuffer>);
      }
      return new Response("not found", { status: 404 });
    },
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
    get mode() {
      return state.mode;
    },
    set mode(mode: KdsStandInMode) {
      state.mode = mode;
    },
    get retryAfterSeconds() {
      return state.retryAfterSeconds;
    },
    set retryAfterSeconds(seconds: number | undefined) {
      state.retryAfterSeconds = seconds;
    },
    close: () => server.shutdown(),
  };
}
