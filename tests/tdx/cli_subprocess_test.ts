import { strict as assert } from "node:assert";
import { conformanceFile, conformanceTest } from "../conformance.ts";
import { runContrast } from "../helpers/contrast_cli.ts";

const D = (name: string) => conformanceFile(`tdx/${name}`).pathname;

/** Runs `contrast evidence <command> --platform tdx --quote <quote> <extra…>`. */
function tdxEvidence(command: "show" | "verify", quote: string, ...extra: string[]) {
  return runContrast("evidence", command, "--platform", "tdx", "--quote", quote, ...extra);
}

/** `contrast evidence verify` of the conformance vector `name`'s quote with its collateral. */
function verifyVector(name: string, ...extra: string[]) {
  const d = D(name);
  return tdxEvidence("verify", `${d}/quote.bin`, "--collateral-dir", d, ...extra);
}

conformanceTest(
  "contrast evidence verify --platform tdx --json: UpToDate vector exits 0",
  async () => {
    const r = await verifyVector(
      "v4-phala-b0c06f-uptodate",
      "--offline",
      "--now",
      "2025-06-19T11:32:27Z",
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.result.tcbStatus, "UpToDate");
    assert.deepEqual(out.result.advisoryIds, []);
  },
);

conformanceTest(
  "contrast evidence verify --platform tdx: expired collateral exits 1 naming the field",
  async () => {
    const r = await verifyVector(
      "v4-phala-b0c06f-uptodate",
      "--now",
      "2025-08-19T00:00:00Z",
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tcbInfo/);
  },
);

conformanceTest("contrast evidence verify --platform tdx: a truncated quote exits 2", async () => {
  const tmp = await Deno.makeTempFile();
  try {
    await Deno.writeFile(
      tmp,
      (await Deno.readFile(`${D("v4-gotdx-spr-50806f")}/quote.bin`)).slice(0, 700),
    );
    const r = await tdxEvidence("verify", tmp, "--offline");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /quote\./);
  } finally {
    await Deno.remove(tmp);
  }
});

conformanceTest(
  "contrast evidence show --platform tdx --quote prints the decoded quote",
  async () => {
    const r = await tdxEvidence("show", `${D("v4-gcp-cos113-padded")}/quote.bin`, "--json");
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.trailingBytes, 3065);
    assert.equal(d.body.debug, false);
  },
);

conformanceTest(
  "contrast evidence verify rejects an SNP-only option with --platform tdx",
  async () => {
    const d = D("v4-phala-b0c06f-uptodate");
    const r = await tdxEvidence("verify", `${d}/quote.bin`, "--vcek", "x.der");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--vcek/);
  },
);
