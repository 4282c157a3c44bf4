/**
 * Where real TDX verification takes the Intel SGX Root CA CRL when a PCCS serves the rest of the
 * collateral: from Intel's published location, never from the PCCS (which could replay an older,
 * still valid CRL that omits a revocation), unless the user names another URL. A local "PCCS"
 * serves a real platform's collateral (conformance data) at PCS v4's paths, and Intel's certificate
 * server is answered by the fetcher's injected `fetch`, so nothing leaves the machine.
 */
import { strict as assert } from "node:assert";
import { UnavailableError } from "../../../util/errors/mod.ts";
import { CachingFetcher, exportCacheToBundle } from "../../../collateral/mod.ts";
import {
  cachingFetcherTransport,
  INTEL_ROOT_CA_CRL_URL,
  IntelPcsClient,
  pcsServiceRootCaCrlUrl,
} from "../../../tdx/pcs/client.ts";
import { collateralRequestOf } from "../../../tdx/verifier.ts";
import { parseTdxQuote } from "../../../tdx/quote/parse_quote.ts";
import { verifyTdxQuote } from "../../../tdx/verify/verify_quote.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../../tdx/verify/intel_root.ts";
import { conformanceTest, readConformance } from "../../conformance.ts";
import { withTempDir } from "../../helpers/temp_dir.ts";

const DIR = "tdx/v4-phala-b0c06f-uptodate";
const NOW = new Date("2025-06-19T11:32:27Z");
const ROOT_CRL_PATH = "/sgx/certification/v4/rootcacrl";

interface Pccs {
  readonly base: string;
  /** Requests by path and query. */
  readonly hits: string[];
  close(): Promise<void>;
}

async function text(name: string): Promise<string> {
  return new TextDecoder().decode(await readConformance(`${DIR}/${name}`));
}

/** A PCCS on loopback serving the conformance platform's collateral at PCS v4's paths. */
async function startPccs(): Promise<Pccs> {
  const files = {
    tcb: await readConformance(`${DIR}/tcb_info.json`),
    tcbChain: await text("tcb_info_issuer_chain.pem"),
    qe: await readConformance(`${DIR}/qe_identity.json`),
    qeChain: await text("qe_identity_issuer_chain.pem"),
    pckCrl: await readConformance(`${DIR}/pck_crl.der`),
    pckCrlChain: await text("pck_crl_issuer_chain.pem"),
    rootCrl: await readConformance(`${DIR}/root_ca_crl.der`),
  };
  const hits: string[] = [];
  const ok = (body: Uint8Array, headers: Record<string, string> = {}) =>
    new Response(new Uint8Array(body), { headers });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    hits.push(url.pathname + url.search);
    switch (url.pathname) {
      case "/tdx/certification/v4/tcb":
        return ok(files.tcb, { "TCB-Info-Issuer-Chain": encodeURIComponent(files.tcbChain) });
      case "/tdx/certification/v4/qe/identity":
        return ok(files.qe, {
          "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(files.qeChain),
        });
      case "/sgx/certification/v4/pckcrl":
        return ok(files.pckCrl, {
          "SGX-PCK-CRL-Issuer-Chain": encodeURIComponent(files.pckCrlChain),
        });
      case ROOT_CRL_PATH:
        return ok(files.rootCrl);
      default:
        return new Response("not found", { status: 404 });
    }
  });
  return {
    base: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    hits,
    close: () => server.shutdown(),
  };
}

/** A fetch that answers Intel's root CA CRL URL itself (per `intel`) and passes the rest on. */
function fetchWithIntel(
  intel: () => Promise<Response>,
  asked: string[],
): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    asked.push(url);
    return url === INTEL_ROOT_CA_CRL_URL ? intel() : fetch(input, init);
  };
}

async function quoteAndRequest() {
  const quote = parseTdxQuote(await readConformance(`${DIR}/quote.bin`));
  return { quote, request: { ...collateralRequestOf(quote), now: NOW } };
}

function client(fetcher: CachingFetcher, baseUrl: string, rootCaCrlUrl?: string) {
  return new IntelPcsClient({
    transport: cachingFetcherTransport(fetcher, { clock: () => NOW }),
    baseUrl,
    ...(rootCaCrlUrl ? { rootCaCrlUrl } : {}),
  });
}

const intelCrl = async () =>
  new Response(new Uint8Array(await readConformance(`${DIR}/root_ca_crl.der`)));

conformanceTest(
  "real verification through a PCCS takes the root CA CRL from Intel's location, never the PCCS",
  async () => {
    const pccs = await startPccs();
    try {
      await withTempDir(async (dir) => {
        const asked: string[] = [];
        const fetcher = new CachingFetcher({
          cacheDir: `${dir}/cache`,
          retries: 0,
          fetch: fetchWithIntel(intelCrl, asked),
          clock: () => NOW,
        });
        const { quote, request } = await quoteAndRequest();
        const collateral = await client(fetcher, pccs.base).collateralFor(request);
        const v = await verifyTdxQuote(quote, {
          now: NOW,
          trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
          collateral,
        });
        assert.equal(v.tcb.status, "UpToDate");
        assert.equal(asked.filter((u) => u === INTEL_ROOT_CA_CRL_URL).length, 1);
        assert.ok(!pccs.hits.includes(ROOT_CRL_PATH), pccs.hits.join("\n"));
        assert.equal(pccs.hits.length, 3, pccs.hits.join("\n"));

        // The cache keeps working: offline, the same client needs neither the PCCS nor Intel.
        const offline = new CachingFetcher({ cacheDir: `${dir}/cache`, offline: true });
        const again = await client(offline, pccs.base).collateralFor(request);
        assert.deepEqual(again.rootCaCrl, collateral.rootCaCrl);

        // So does an offline bundle exported from that cache: it holds Intel's URL.
        const exported = await exportCacheToBundle(`${dir}/cache`, `${dir}/bundle`, { now: NOW });
        assert.ok(exported.written.some((w) => w.url === INTEL_ROOT_CA_CRL_URL));
        const bundle = new CachingFetcher({ offline: true, importDirs: [`${dir}/bundle`] });
        const fromBundle = await client(bundle, pccs.base).collateralFor(request);
        await verifyTdxQuote(quote, {
          now: NOW,
          trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
          collateral: fromBundle,
        });
      });
    } finally {
      await pccs.close();
    }
  },
);

conformanceTest(
  "Intel's location unreachable: verification fails naming it, the PCCS's copy is no fallback",
  async () => {
    const pccs = await startPccs();
    try {
      const asked: string[] = [];
      const fetcher = new CachingFetcher({
        retries: 0,
        fetch: fetchWithIntel(() => Promise.reject(new TypeError("dns error")), asked),
      });
      const { request } = await quoteAndRequest();
      await assert.rejects(
        client(fetcher, pccs.base).collateralFor(request),
        (e: unknown) =>
          e instanceof UnavailableError && e.field === INTEL_ROOT_CA_CRL_URL &&
          /network error/.test(e.message),
      );
      assert.ok(!pccs.hits.includes(ROOT_CRL_PATH), pccs.hits.join("\n"));
    } finally {
      await pccs.close();
    }
  },
);

conformanceTest(
  "a root CA CRL URL the user names (--root-ca-crl-url) is the one asked",
  async () => {
    const pccs = await startPccs();
    try {
      const asked: string[] = [];
      const fetcher = new CachingFetcher({
        retries: 0,
        fetch: fetchWithIntel(() => Promise.reject(new TypeError("must not be asked")), asked),
      });
      const { quote, request } = await quoteAndRequest();
      const named = pcsServiceRootCaCrlUrl(pccs.base);
      const collateral = await client(fetcher, pccs.base, named).collateralFor(request);
      await verifyTdxQuote(quote, {
        now: NOW,
        trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
        collateral,
      });
      assert.ok(pccs.hits.includes(ROOT_CRL_PATH));
      assert.ok(!asked.includes(INTEL_ROOT_CA_CRL_URL), asked.join("\n"));
    } finally {
      await pccs.close();
    }
  },
);
