/**
 * Runs the SNP verification bench and prints the throughput ratio of full report verification
 * (cached chain) to a bare WebCrypto P-384 verify measured in the same run (1.0 = no overhead;
 * the goal is ≥ 0.8). Uses the median-like p75 as well as the average, since the machine is
 * shared and outliers are common.
 *
 * Usage: `deno run -A snp/bench/ratio.ts`
 *
 * @module
 */

interface BenchResult {
  readonly name: string;
  readonly baseline: boolean;
  readonly results: readonly { readonly ok?: { readonly avg: number; readonly p75: number } }[];
}

if (import.meta.main) {
  const bench = new URL("./verify_bench.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--json", bench],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) Deno.exit(1);
  const { benches } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    benches: BenchResult[];
  };
  const baseline = benches.find((b) => b.baseline)?.results[0]?.ok;
  const full = benches.find((b) => !b.baseline)?.results[0]?.ok;
  if (!baseline || !full) {
    console.error("bench results missing");
    Deno.exit(1);
  }
  const ms = (ns: number) => (ns / 1e6).toFixed(3);
  console.log(`bare P-384 verify:        avg ${ms(baseline.avg)} ms, p75 ${ms(baseline.p75)} ms`);
  console.log(`SNP verify (cached chain): avg ${ms(full.avg)} ms, p75 ${ms(full.p75)} ms`);
  console.log(
    `ratio (bare / full): avg ${(baseline.avg / full.avg).toFixed(2)}, p75 ${
      (baseline.p75 / full.p75).toFixed(2)
    }`,
  );
}
