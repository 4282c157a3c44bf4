/**
 * Transparent mode: the netfilter rules that send the pod's inbound TCP traffic into the proxy.
 *
 * For each port the ingress terminates TLS for, `nat PREROUTING` redirects connections to that
 * port to the proxy's listener for it; the `filter INPUT` chain then lets through only what the
 * mesh allows from outside the pod: the proxy's listeners, the ports the ingress passes through in
 * plain (`<name>#<port>#true`), the admin port, replies to the pod's own connections, and
 * loopback (the proxy's own connections to the application and everything inside the pod); any
 * other new inbound TCP connection is reset. So an application port is never reachable in plain
 * unless an ingress entry says so. Locally generated traffic never passes `PREROUTING`, so the
 * proxy's own and the application's outgoing connections are left alone. The same rules apply to
 * IPv6. With ingress `DISABLED` there are no rules.
 *
 * {@link transparentRules} is pure (unit tested); {@link applyTransparentRules} runs
 * `iptables-restore --noflush` (our chains are created or flushed, nothing else is touched) and
 * then inserts the jumps into the built-in chains once (re-running after a restart changes
 * nothing). Needs `CAP_NET_ADMIN`.
 *
 * @module
 */
import { ContrastError } from "../util/errors/mod.ts";
import type { MeshConfig } from "../protocol/mesh_config.ts";

/** Name of the proxy's chains (in `nat` and `filter`). */
export const CHAIN = "CONTRAST_INBOUND";

/** What the rules are built from. */
export interface TransparentPlan {
  /** Application port → the proxy listener's port. */
  readonly redirects: readonly { readonly port: number; readonly listenerPort: number }[];
  /** Ports passed through in plain. */
  readonly plainPorts: readonly number[];
  /** The admin interface port, when there is one. */
  readonly adminPort?: number;
  /** False when ingress is `DISABLED` (no rules at all). */
  readonly ingressEnabled: boolean;
}

/** A jump from a built-in chain into ours. */
export interface Jump {
  readonly table: "nat" | "filter";
  readonly chain: "PREROUTING" | "INPUT";
  readonly rule: readonly string[];
}

/** The generated rules for one address family. */
export interface RuleSet {
  /** Input for `iptables-restore --noflush`. */
  readonly restore: string;
  /** Jumps to insert (at position 1) unless already present. */
  readonly jumps: readonly Jump[];
}

/** Applying the rules failed. */
export class TransparentModeError extends ContrastError {}

/**
 * The plan for `config`: each terminated port is redirected to its `listenerPort`, the port its
 * listener binds (after `withInboundPortBase` when the base is not the default), so the rules and
 * the listeners cannot disagree.
 */
export function transparentPlan(config: MeshConfig): TransparentPlan {
  return {
    ingressEnabled: config.ingress.enabled,
    redirects: config.inbound.map((p) => ({ port: p.port, listenerPort: p.listenerPort })),
    plainPorts: config.plainPorts,
    ...(config.adminPort !== undefined ? { adminPort: config.adminPort } : {}),
  };
}

/** The rules for `plan` (identical text for `iptables` and `ip6tables`). */
export function transparentRules(plan: TransparentPlan): RuleSet {
  if (!plan.ingressEnabled) return { restore: "", jumps: [] };
  const nat = plan.redirects.map((r) =>
    `-A ${CHAIN} -p tcp --dport ${r.port} -j REDIRECT --to-ports ${r.listenerPort}`
  );
  const open = [
    ...plan.redirects.map((r) => r.listenerPort),
    ...plan.plainPorts,
    ...(plan.adminPort !== undefined ? [plan.adminPort] : []),
  ];
  const filter = [
    `-A ${CHAIN} -i lo -j RETURN`,
    // A terminated port reached from outside without the redirect: a connection made before
    // these rules existed (the application may listen before the sidecar runs), which connection
    // tracking would otherwise let through as ESTABLISHED for as long as it lasts.
    ...plan.redirects.map((r) =>
      `-A ${CHAIN} -p tcp --dport ${r.port} -j REJECT --reject-with tcp-reset`
    ),
    `-A ${CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    ...[...new Set(open)].map((p) => `-A ${CHAIN} -p tcp --dport ${p} -j RETURN`),
    `-A ${CHAIN} -p tcp -j REJECT --reject-with tcp-reset`,
  ];
  const restore = [
    "*nat",
    `:${CHAIN} - [0:0]`,
    ...nat,
    "COMMIT",
    "*filter",
    `:${CHAIN} - [0:0]`,
    ...filter,
    "COMMIT",
    "",
  ].join("\n");
  return {
    restore,
    jumps: [
      { table: "nat", chain: "PREROUTING", rule: ["-p", "tcp", "-j", CHAIN] },
      { table: "filter", chain: "INPUT", rule: ["-p", "tcp", "-j", CHAIN] },
    ],
  };
}

/** Runs a command; returns its exit code and stderr. */
export type CommandRunner = (
  cmd: string,
  args: readonly string[],
  stdin?: string,
) => Promise<{ code: number; stderr: string }>;

/** Runs commands with `Deno.Command`. */
export const runCommand: CommandRunner = async (cmd, args, stdin) => {
  const child = new Deno.Command(cmd, {
    args: [...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
};

async function applyFamily(
  family: "iptables" | "ip6tables",
  rules: RuleSet,
  run: CommandRunner,
): Promise<void> {
  const restore = await run(`${family}-restore`, ["--noflush"], rules.restore).catch((e) => ({
    code: -1,
    stderr: (e as Error).message,
  }));
  if (restore.code !== 0) {
    throw new TransparentModeError(
      `${family}-restore`,
      `failed (exit ${restore.code}): ${restore.stderr} (the proxy needs CAP_NET_ADMIN)`,
    );
  }
  for (const jump of rules.jumps) {
    const check = await run(family, ["-t", jump.table, "-C", jump.chain, ...jump.rule]);
    if (check.code === 0) continue;
    const insert = await run(family, ["-t", jump.table, "-I", jump.chain, "1", ...jump.rule]);
    if (insert.code !== 0) {
      throw new TransparentModeError(
        `${family} -t ${jump.table} ${jump.chain}`,
        `inserting the jump failed (exit ${insert.code}): ${insert.stderr}`,
      );
    }
  }
}

/** Opens a TCP listener (`Deno.listen`'s shape, injectable for tests). */
export type Listen = (options: { hostname: string; port: number }) => { close(): void };

/**
 * Whether the kernel speaks IPv6: an IPv6 wildcard socket can be bound. This needs only the net
 * permission (Deno refuses every read below `/proc` and `/sys` without `--allow-all`, so the
 * proxy's image cannot look there). Only "address family not supported" means no IPv6; any other
 * failure is an error, never a silent "no IPv6" (plain IPv6 must not stay open).
 *
 * @throws {TransparentModeError} when the probe fails for another reason
 */
export function kernelHasIpv6(listen: Listen = Deno.listen): boolean {
  try {
    listen({ hostname: "::", port: 0 }).close();
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/os error 97\b|address family not supported/i.test(message)) return false;
    throw new TransparentModeError(
      "ipv6",
      `cannot tell whether the kernel has IPv6 (binding [::]:0 failed: ${message}); refusing to ` +
        "leave IPv6 unfiltered",
    );
  }
}

/**
 * Applies `plan` for IPv4 and, when the kernel has IPv6 ({@link kernelHasIpv6}), for IPv6
 * (failing there fails the whole: plain IPv6 must not stay open).
 *
 * @throws {TransparentModeError} naming the command that failed
 */
export async function applyTransparentRules(
  plan: TransparentPlan,
  options: { run?: CommandRunner; ipv6?: boolean } = {},
): Promise<RuleSet> {
  const rules = transparentRules(plan);
  if (!plan.ingressEnabled) return rules;
  const run = options.run ?? runCommand;
  await applyFamily("iptables", rules, run);
  const ipv6 = options.ipv6 ?? kernelHasIpv6();
  if (ipv6) await applyFamily("ip6tables", rules, run);
  return rules;
}
