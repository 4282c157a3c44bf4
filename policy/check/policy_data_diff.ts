/**
 * Field-by-field comparison of a CreateContainer request with the container expectations of a
 * policy's `policy_data` (the shape in `policy/policy_data_types.ts`), for explanations when no
 * allowed reference request exists (e.g. a policy that admits no container of the pod). The
 * verdict always comes from the compiled rules; this only says where request and expectation
 * part ways, in the rules' terms.
 *
 * @module
 */
import type { ContainerExpectation, PolicyData } from "../policy_data_types.ts";
import type { Json, JsonObject } from "./agent_protocol.ts";
import { Annotation } from "./runtime_model.ts";

/** One disagreement between request and expectation. */
export interface ExpectationMismatch {
  /** Request field, e.g. `OCI.Linux.Namespaces`. */
  readonly field: string;
  /** What the request has. */
  readonly got: Json;
  /** What the policy expects, in its own terms (values or patterns). */
  readonly expected: Json;
}

function o(v: Json | undefined): JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
}

function a(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function re(pattern: string, cid: string): RegExp | undefined {
  try {
    return new RegExp(pattern.replaceAll("$(cid)", cid));
  } catch {
    return undefined;
  }
}

function matches(pattern: string, value: string, cid: string): boolean {
  return re(pattern, cid)?.test(value) ?? false;
}

function sameSet(x: Json[], y: readonly Json[]): boolean {
  const sx = new Set(x.map((v) => JSON.stringify(v)));
  const sy = new Set(y.map((v) => JSON.stringify(v)));
  return sx.size === sy.size && [...sx].every((v) => sy.has(v));
}

/** The expectation a CreateContainer request is meant for (by container type and name). */
export function expectationFor(
  pd: PolicyData,
  request: JsonObject,
): ContainerExpectation | undefined {
  const annotations = o(o(request.OCI).Annotations);
  if (annotations[Annotation.containerType] === "sandbox") {
    return pd.containers.find((c) => c.kind === "pause");
  }
  return pd.containers.find((c) =>
    c.kind !== "pause" && c.name === annotations[Annotation.containerName]
  );
}

/** Mismatches between a CreateContainer request and the expectation it is meant for. */
export function compareWithExpectation(
  c: ContainerExpectation,
  request: JsonObject,
): ExpectationMismatch[] {
  const out: ExpectationMismatch[] = [];
  const add: Add = (field, got, expected) => out.push({ field, got, expected });
  const cid = String(request.container_id ?? "");
  const oci = o(request.OCI);
  processMismatches(c.process, o(oci.Process), cid, add);
  rootMismatches(c, o(oci.Root), cid, add);
  mountMismatches(c, a(oci.Mounts).map(o), cid, add);
  storageMismatches(c, a(request.storages).map(o), cid, add);
  linuxMismatches(c, o(oci.Linux), add);
  annotationMismatches(c, o(oci.Annotations), cid, add);
  return out;
}

/** Records one mismatch. */
type Add = (field: string, got: Json, expected: Json) => void;

/** `OCI.Process`: arguments, working directory, terminal, privileges, user, capabilities, env. */
function processMismatches(
  e: ContainerExpectation["process"],
  p: JsonObject,
  cid: string,
  add: Add,
): void {
  if (JSON.stringify(p.Args) !== JSON.stringify(e.args)) {
    add("OCI.Process.Args", p.Args ?? null, [...e.args]);
  }
  if (p.Cwd !== e.cwd) add("OCI.Process.Cwd", p.Cwd ?? null, e.cwd);
  if ((p.Terminal ?? false) !== e.terminal) {
    add("OCI.Process.Terminal", p.Terminal ?? null, e.terminal);
  }
  if ((p.NoNewPrivileges ?? false) !== e.no_new_privileges) {
    add("OCI.Process.NoNewPrivileges", p.NoNewPrivileges ?? null, e.no_new_privileges);
  }
  const user = o(p.User);
  if (user.UID !== e.uid) add("OCI.Process.User.UID", user.UID ?? null, e.uid);
  if (user.GID !== e.gid) add("OCI.Process.User.GID", user.GID ?? null, e.gid);
  const gids = new Set([...e.additional_gids, e.gid]);
  for (const g of a(user.AdditionalGids)) {
    if (!gids.has(g as number)) add("OCI.Process.User.AdditionalGids", g, [...gids]);
  }
  const caps = o(p.Capabilities);
  for (
    const [field, key] of [
      ["Bounding", "bounding"],
      ["Effective", "effective"],
      ["Inheritable", "inheritable"],
      ["Permitted", "permitted"],
      ["Ambient", "ambient"],
    ] as const
  ) {
    if (!sameSet(a(caps[field]), e.capabilities[key])) {
      add(`OCI.Process.Capabilities.${field}`, a(caps[field]), [...e.capabilities[key]]);
    }
  }
  for (const v of a(p.Env)) {
    const s = String(v);
    const at = s.indexOf("=");
    const name = s.slice(0, at), value = s.slice(at + 1);
    const ok = e.env.some((x) =>
      x.name === name && (
        "value" in x
          ? x.value === value
          : "regex" in x
          ? matches(x.regex, value, cid)
          : x.secret === true
      )
    ) || e.env_regexes.some((r) => matches(r, s, cid));
    if (!ok) add("OCI.Process.Env", s, "no expected variable or pattern matches");
  }
}

/** `OCI.Root`: read-only flag and path. */
function rootMismatches(c: ContainerExpectation, root: JsonObject, cid: string, add: Add): void {
  if ((root.Readonly ?? false) !== c.readonly_root) {
    add("OCI.Root.Readonly", root.Readonly ?? null, c.readonly_root);
  }
  if (!matches(c.root_path_regex, String(root.Path ?? ""), cid)) {
    add("OCI.Root.Path", root.Path ?? null, c.root_path_regex);
  }
}

/** `OCI.Mounts`: each mount expected, with its type, source and options; none but optional ones missing. */
function mountMismatches(
  c: ContainerExpectation,
  mounts: readonly JsonObject[],
  cid: string,
  add: Add,
): void {
  for (const m of mounts) {
    const em = c.mounts.find((x) => x.destination === m.destination);
    const type = String(m.type_ ?? m.type ?? "");
    if (!em) {
      add(`OCI.Mounts[${JSON.stringify(m.destination)}]`, m, "no such mount expected");
      continue;
    }
    if (type !== em.type) add(`OCI.Mounts[${JSON.stringify(m.destination)}].type_`, type, em.type);
    if (!matches(em.source_regex, String(m.source ?? ""), cid)) {
      add(`OCI.Mounts[${JSON.stringify(m.destination)}].source`, m.source ?? null, em.source_regex);
    }
    if (!sameSet(a(m.options), em.options)) {
      add(`OCI.Mounts[${JSON.stringify(m.destination)}].options`, a(m.options), [...em.options]);
    }
  }
  for (const em of c.mounts) {
    if (em.optional !== true && !mounts.some((m) => m.destination === em.destination)) {
      add(`OCI.Mounts[${JSON.stringify(em.destination)}]`, null, "expected mount is missing");
    }
  }
}

/** `storages`: each one expected, and as many as expected. */
function storageMismatches(
  c: ContainerExpectation,
  storages: readonly JsonObject[],
  cid: string,
  add: Add,
): void {
  for (const s of storages) {
    const ok = c.storages.some((es) =>
      es.driver === s.driver && es.fstype === s.fstype &&
      matches(es.source_regex, String(s.source ?? ""), cid) &&
      matches(es.mount_point_regex, String(s.mount_point ?? ""), cid)
    );
    if (!ok) add("storages", s, c.storages.map((x) => ({ ...x })) as unknown as Json);
  }
  if (storages.length !== c.storages.length) {
    add("storages.length", storages.length, c.storages.length);
  }
}

/** `OCI.Linux`: namespaces, sysctls, masked and read-only paths. */
function linuxMismatches(c: ContainerExpectation, linux: JsonObject, add: Add): void {
  const ns = a(linux.Namespaces).map((n) => String(o(n).Type));
  if (!sameSet(ns, c.namespaces)) add("OCI.Linux.Namespaces", ns, [...c.namespaces]);
  if (JSON.stringify(sortKeys(o(linux.Sysctl))) !== JSON.stringify(sortKeys(c.sysctls))) {
    add("OCI.Linux.Sysctl", o(linux.Sysctl), { ...c.sysctls });
  }
  for (const path of c.masked_paths) {
    if (!a(linux.MaskedPaths).includes(path)) {
      add("OCI.Linux.MaskedPaths", a(linux.MaskedPaths), path);
    }
  }
  for (const path of c.readonly_paths) {
    if (!a(linux.ReadonlyPaths).includes(path)) {
      add("OCI.Linux.ReadonlyPaths", a(linux.ReadonlyPaths), path);
    }
  }
}

/** A GPU's CDI annotation key and value (rules.rego `cdi_vfio_key`, `annotation_ok`). */
const CDI_VFIO_KEY = /^cdi\.k8s\.io\/vfio[0-9]+$/;
const CDI_GPU_VALUE = /^nvidia\.com\/gpu=[0-9]+$/;

/** `OCI.Annotations`: each one allowed and matching its pattern; one CDI annotation per GPU. */
function annotationMismatches(
  c: ContainerExpectation,
  annotations: JsonObject,
  cid: string,
  add: Add,
): void {
  const gpus = c.gpus ?? 0;
  const cdiKeys = Object.keys(annotations).filter((k) => CDI_VFIO_KEY.test(k));
  if (cdiKeys.length !== gpus) {
    add("OCI.Annotations[cdi.k8s.io/vfio<n>]", cdiKeys.length, `${gpus} (one per GPU)`);
  }
  for (const [key, value] of Object.entries(annotations)) {
    const pattern = c.annotations[key];
    if (pattern === undefined && gpus > 0 && CDI_VFIO_KEY.test(key)) {
      if (!CDI_GPU_VALUE.test(String(value))) {
        add(`OCI.Annotations[${JSON.stringify(key)}]`, value, CDI_GPU_VALUE.source);
      }
    } else if (pattern === undefined) {
      add(`OCI.Annotations[${JSON.stringify(key)}]`, value, "not allowed");
    } else if (!matches(pattern, String(value), cid)) {
      add(`OCI.Annotations[${JSON.stringify(key)}]`, value, pattern);
    }
  }
}

function sortKeys(x: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(x).sort(([k1], [k2]) => k1.localeCompare(k2));
}

/** An ExecProcess whose command no container of the policy may run. */
export function execMismatches(pd: PolicyData, request: JsonObject): ExpectationMismatch[] {
  const args = a(o(request.process).Args);
  const allowed = [
    ...pd.exec.allowed_commands,
    ...pd.containers.flatMap((c) => c.exec_commands),
  ].map((c) => [...c]);
  if (allowed.some((c) => JSON.stringify(c) === JSON.stringify(args))) return [];
  return [{ field: "process.Args", got: args, expected: allowed }];
}

/** A CopyFile whose path matches none of the policy's patterns, or whose symlink escapes. */
export function copyFileMismatches(pd: PolicyData, request: JsonObject): ExpectationMismatch[] {
  const out: ExpectationMismatch[] = [];
  const path = String(request.path ?? "");
  if (!pd.copy_file.path_regexes.some((r) => matches(r, path, ""))) {
    out.push({ field: "path", got: path, expected: [...pd.copy_file.path_regexes] });
  }
  if (/(^|\/)\.\.(\/|$)/.test(path)) {
    out.push({ field: "path", got: path, expected: "a canonical path without .." });
  }
  const target = request.symlink_target;
  if (typeof target === "string" && (target.startsWith("/") || /(^|\/)\.\.(\/|$)/.test(target))) {
    out.push({
      field: "symlink_target",
      got: target,
      expected: "a relative target that stays in the shared directory",
    });
  }
  return out;
}
