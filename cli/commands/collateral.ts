/**
 * `contrast collateral list|export|path`: inspect the vendor collateral cache, turn it into an
 * offline bundle for `--collateral-dir`, and show where a URL goes in a bundle.
 *
 * @module
 */
import type { Command } from "commander";
import { logLevelOf, progressOf, warningWriter } from "../output.ts";
import { bundlePath, exportCacheToBundle, listCache } from "../../collateral/mod.ts";
import { cacheRoot, collateralCacheDir } from "../options.ts";
import { escapeLineText } from "../../util/log/line_text.ts";

/** Registers `contrast collateral …`. */
export function registerCollateralCommand(program: Command): void {
  const collateral = program
    .command("collateral")
    .description(
      "Inspect the vendor collateral cache and export offline bundles.\n\n" +
        "Vendor collateral: AMD KDS and Intel PCS responses (certificates, CRLs, TCB info).",
    );

  collateral
    .command("list")
    .description("List the cached responses: URL, size, fetch time, expiry, verifying roots.")
    .option("--cache-dir <dir>", `cache root shared by every command (default: ${cacheRoot()})`)
    .option("--json", "print JSON")
    .action(async (o: { cacheDir?: string; json?: boolean }) => {
      const entries = await listCache(collateralCacheDir(o));
      if (o.json) {
        console.log(JSON.stringify(entries, null, 2));
        return;
      }
      // A cache entry's URL and key are whatever was written into the cache directory: printed
      // escaped, one line each, so they can neither forge lines nor drive the terminal.
      for (const e of entries) {
        console.log(escapeLineText(
          e.corrupt
            ? `CORRUPT  ${e.path}: ${e.corrupt}`
            : `${e.url}  ${e.size} bytes  fetched ${e.fetchedAt!.toISOString()}  ` +
              (e.validUntil ? `until ${e.validUntil.toISOString()}` : "kept forever") +
              (e.trustDomain ? `  verified for ${e.trustDomain}` : ""),
        ));
      }
    });

  collateral
    .command("export")
    .description(
      "Write the cached responses into an offline bundle directory.\n\n" +
        "Verify with --collateral-dir (and --offline) on a machine without network.",
    )
    .option("--cache-dir <dir>", `cache root shared by every command (default: ${cacheRoot()})`)
    .requiredOption("--out <dir>", "the bundle directory to write")
    .option("--include-expired", "also export entries past their nextUpdate")
    .action(
      async (o: { cacheDir?: string; out: string; includeExpired?: boolean }, cmd: Command) => {
        const result = await exportCacheToBundle(collateralCacheDir(o), o.out, {
          includeExpired: o.includeExpired,
        });
        for (const w of result.written) console.log(escapeLineText(`${w.url} -> ${w.path}`));
        const warn = warningWriter(logLevelOf(cmd));
        for (const s of result.skipped) warn(escapeLineText(`skipped ${s.path}: ${s.reason}`));
        progressOf(cmd, console.error)(
          `${result.written.length} written, ${result.skipped.length} skipped`,
        );
      },
    );

  collateral
    .command("path")
    .description("Print where each URL's response goes in a bundle directory.")
    .requiredOption(
      "--collateral-dir <dir>",
      "offline bundle of vendor collateral (AMD KDS, Intel PCS)",
    )
    .argument("<url...>", "vendor URLs")
    .action((urls: string[], o: { collateralDir: string }) => {
      for (const url of urls) console.log(bundlePath(o.collateralDir, url));
    });
}
