/**
 * The "Examples:" section of every command's `--help`, kept in one table so that every command
 * shows them the same way (commander prints them after the options). Each example is one
 * command line; a line starting with `#` is a comment before the next one.
 *
 * @module
 */
import type { Command } from "commander";

const COORDINATOR = "coordinator.example.com:1313";

/** Examples by command path (`"evidence verify"`); the root is `""`. */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  "": [
    "contrast generate --reference-values Metal-QEMU-SNP --trusted-measurement <96 hex> -w ws/ app/",
    `contrast set -c ${COORDINATOR} -w ws/ app/`,
    `contrast verify -c ${COORDINATOR} -w audit/ --json`,
  ],
  "collateral list": [
    "contrast collateral list",
    "contrast collateral list --cache-dir /var/cache/contrast --json",
  ],
  "collateral export": [
    "contrast collateral export --out bundle/",
    "# on the offline machine:",
    "contrast evidence verify --platform snp --report report.bin --offline --collateral-dir bundle/",
  ],
  "collateral path": [
    "contrast collateral path --collateral-dir bundle/ https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain",
  ],
  "completion": [
    "source <(contrast completion bash)",
    "contrast completion fish > ~/.config/fish/completions/contrast.fish",
  ],
  "coordinator": [
    "contrast coordinator --platform Metal-QEMU-SNP -n contrast -o coordinator.yml",
    "contrast coordinator --platform Metal-QEMU-TDX --replicas 3",
  ],
  "evidence show": [
    "contrast evidence show --platform snp --report report.bin",
    "contrast evidence show --platform tdx --quote quote.bin --json",
  ],
  "evidence verify": [
    "contrast evidence verify --platform snp --report report.bin --reference-values manifest.json",
    "contrast evidence verify --platform tdx --quote quote.bin --json",
  ],
  "generate": [
    "contrast generate --reference-values Metal-QEMU-SNP --trusted-measurement <96 hex> -w ws/ app/",
    "contrast generate --reference-values Metal-QEMU-TDX --mrtd <96 hex> --rtmr <96 hex> " +
    "--rtmr <96 hex> --rtmr <96 hex> --rtmr <96 hex> --mrseam <96 hex> -w ws/ app/",
  ],
  "policy check": [
    "contrast policy check app/",
    "contrast policy check --mutate --json app/",
  ],
  "policy explain": [
    "contrast policy explain app/web.yml request.json",
    "contrast policy explain --pod web --json app/all.yml agent-policy.log",
  ],
  "recover": [
    `contrast recover -c ${COORDINATOR} -w ws/`,
    `contrast recover -c ${COORDINATOR} --seedshare-owner-key owner.pem --seed seed-shares.json`,
  ],
  "runtime": [
    "contrast runtime --platform Metal-QEMU-SNP -o runtime.yml",
    "contrast runtime --platform AKS-CLH-SNP --node-selector pool=confidential",
  ],
  "set": [
    `contrast set -c ${COORDINATOR} -w ws/ app/`,
    "# with a signature made outside contrast (contrast sign --prepare):",
    `contrast set -c ${COORDINATOR} -w ws/ --signature update.sig app/`,
  ],
  "sign": [
    `contrast sign --prepare -c ${COORDINATOR} -w ws/`,
    "openssl dgst -sha384 -sign owner-key.pem -out update.sig ws/update-transition.bin",
    `contrast set -c ${COORDINATOR} -w ws/ --signature update.sig app/`,
  ],
  "verify": [
    `contrast verify -c ${COORDINATOR} -w audit/`,
    `contrast verify -c ${COORDINATOR} -w audit/ --offline --collateral-dir bundle/ --json`,
  ],
};

/** The path of `command` below the program (`"evidence verify"`; `""` for the program). */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The "Examples:" section of `path`, or `undefined` when the table has none. */
function examplesText(path: string): string | undefined {
  const lines = HELP_EXAMPLES[path];
  if (!lines) return undefined;
  const shown = lines.map((l) => (l.startsWith("#") ? `  ${l}` : `  $ ${l}`));
  return `\nExamples:\n${shown.join("\n")}`;
}

/** Adds the examples of the table to `command` and every command below it. */
export function addHelpExamples(command: Command): void {
  const text = examplesText(commandPath(command));
  if (text) command.addHelpText("after", text);
  for (const sub of command.commands) addHelpExamples(sub);
}
