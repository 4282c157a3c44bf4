/**
 * The user and groups a container process runs as, the way containerd computes them: the
 * pod/container `securityContext` first, then the image's `User` resolved through the image's
 * `/etc/passwd` and `/etc/group`.
 *
 * @module
 */
import type { IssueList } from "../util/json/mod.ts";

/** Largest user or group id (32 bits). */
const MAX_ID = 0xffff_ffff;

/** uid, gid and the supplementary groups a process may carry. */
interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

function parseGroup(text: string | undefined): GroupEntry[] {
  if (!text) return [];
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) });
  }
  return out;
}

/** An image's `/etc/passwd` and `/etc/group`, parsed (see {@link parseUserTables}). */
interface UserTables {
  readonly passwd: readonly PasswdEntry[];
  readonly groups: readonly GroupEntry[];
}

/**
 * The entries of an image's `/etc/passwd` and `/etc/group` texts that {@link resolveUser} reads
 * (lines with numeric ids), for callers that resolve many users of one image.
 *
 * @example Parse once, resolve many
 * ```ts
 * import { parseUserTables } from "./user.ts";
 *
 * const tables = parseUserTables("app:x:1000:1000::/:/bin/sh\n", "app:x:1000:\n");
 * console.log(tables.passwd[0]); // { name: "app", uid: 1000, gid: 1000 }
 * ```
 */
export function parseUserTables(passwd: string | undefined, group: string | undefined): UserTables {
  return { passwd: parsePasswd(passwd), groups: parseGroup(group) };
}

/** Inputs for {@link resolveUser}. */
interface UserInputs {
  /** `runAsUser` (container overrides pod). */
  readonly runAsUser?: number;
  /** `runAsGroup` (container overrides pod). */
  readonly runAsGroup?: number;
  /** Pod `supplementalGroups` and `fsGroup`. */
  readonly podGroups: readonly number[];
  /** Image config `User`. */
  readonly imageUser: string;
  readonly passwd?: string;
  readonly group?: string;
  /** {@link passwd} and {@link group} parsed already (by {@link parseUserTables}). */
  readonly tables?: UserTables;
}

/** Resolves the process user; records an issue at `path` when the image user cannot be found. */
export function resolveUser(input: UserInputs, path: string, issues: IssueList): ProcessUser {
  const { passwd, groups } = input.tables ?? parseUserTables(input.passwd, input.group);
  let uid = 0;
  let gid: number | undefined;
  let userName: string | undefined;
  if (input.runAsUser !== undefined) {
    uid = input.runAsUser;
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid;
    userName = entry?.name;
  } else if (input.imageUser !== "") {
    if (input.imageUser.split(":").length > 2) {
      // containerd's WithUser refuses it ("invalid USER value"); split(":", 2) read its start.
      issues.add(path, `image user ${JSON.stringify(input.imageUser)} has more than one ':'`);
    }
    const [u, g] = input.imageUser.split(":", 2) as [string, string | undefined];
    if (/^\d+$/.test(u)) {
      uid = Number(u);
      const entry = passwd.find((p) => p.uid === uid);
      gid = entry?.gid;
      userName = entry?.name;
    } else {
      const entry = passwd.find((p) => p.name === u);
      if (!entry) {
        issues.add(path, `image user "${u}" is not in the image's /etc/passwd`);
      } else {
        uid = entry.uid;
        gid = entry.gid;
        userName = entry.name;
      }
    }
    if (g !== undefined && g !== "") {
      if (/^\d+$/.test(g)) gid = Number(g);
      else {
        const entry = groups.find((e) => e.name === g);
        if (!entry) issues.add(path, `image group "${g}" is not in the image's /etc/group`);
        else gid = entry.gid;
      }
    }
  } else {
    const root = passwd.find((p) => p.uid === 0);
    userName = root?.name;
    gid = root?.gid;
  }
  if (input.runAsGroup !== undefined) gid = input.runAsGroup;
  const finalGid = gid ?? 0;
  for (const [what, id] of [["uid", uid], ["gid", finalGid]] as const) {
    // containerd converts with uint32(): 4294967296 would run as 0, not as the policy's value.
    if (id > MAX_ID) issues.add(path, `${what} ${id} does not fit in 32 bits`);
  }
  const extra = new Set<number>(input.podGroups);
  if (userName !== undefined) {
    for (const g of groups) if (g.members.includes(userName)) extra.add(g.gid);
  }
  extra.add(finalGid);
  return { uid, gid: finalGid, additionalGids: [...extra].sort((a, b) => a - b) };
}
