/**
 * Runs the SNP verification bench and prints the throughput ratio of full report verification
 * (cached chain) to a bare WebCrypto P-384 verify measured in the same run (1.0 = no overhead;
 * the goal is ≥ 0.8). On a shared machine the load changes between the two benches, so it prints
 * the ratio of the fastest iterations (least disturbed by other processes) next to p75 and the
 * average.
 *
 * Usage: `deno run -A bench/snp/ratio.ts`
 *
 * @module
 */

interface BenchResult {
  readonly name: string;
  readonly baseline: boolean;
  readonly results: readonly {
    readonly ok?: { readonly avg: number; readonly p75: number; readonly min: number };
  }[];
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
  const line = (r: { min: number; p75: number; avg: number }) =>
    `min ${ms(r.min)} ms, p75 ${ms(r.p75)} ms, avg ${ms(r.avg)} ms`;
  const ratio = (k: "min" | "p75" | "avg") => (baseline[k] / full[k]).toFixed(2);
  console.log(`bare P-384 verify:         ${line(baseline)}`);
  console.log(`SNP verify (cached chain): ${line(full)}`);
  console.log(`ratio (bare / full): min ${ratio("min")}, p75 ${ratio("p75")}, avg ${ratio("avg")}`);
}
