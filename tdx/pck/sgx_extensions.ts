/**
 * The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1), per Intel's "SGX PCK
 * Certificate and Certificate Revocation List Profile Specification": PPID, TCB (16 SGX TCB
 * component SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type, and for Platform CA certificates the
 * platform instance id and configuration.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import {
  children,
  type DerElement,
  encodeElement,
  encodeOid,
  encodeSmallInteger,
  expectTag,
  readOid,
  readSingle,
  readSmallInteger,
  Tag,
} from "../../x509/der.ts";

/** OID of the SGX extension. */
export const SGX_EXTENSION_OID = "1.2.840.113741.1.13.1";

const ENUMERATED = 0x0a;

/**
 * The SGX type of the platform (0 Standard, 1 Scalable, 2 Scalable with integrity).
 *
 * @example Scalable platforms have a platform instance ID
 * ```ts
 * import type { SgxType, VerifiedTdxQuote } from "../mod.ts";
 *
 * function sgxType(verified: VerifiedTdxQuote): SgxType {
 *   return verified.pck.sgxType;
 * }
 * ```
 */
export type SgxType = 0 | 1 | 2;

/**
 * Platform configuration (Platform CA certificates only).
 *
 * @example Was SMT enabled on the platform the PCK was issued for?
 * ```ts
 * import type { SgxConfiguration, VerifiedTdxQuote } from "../mod.ts";
 *
 * function smtEnabled(verified: VerifiedTdxQuote): boolean | undefined {
 *   const configuration: SgxConfiguration | undefined = verified.pck.configuration;
 *   return configuration?.smtEnabled;
 * }
 * ```
 */
export interface SgxConfiguration {
  /** Whether the platform can be extended with additional packages. */
  readonly dynamicPlatform?: boolean;
  /** Whether platform root keys are cached by Intel. */
  readonly cachedKeys?: boolean;
  /** Whether SMT is enabled. */
  readonly smtEnabled?: boolean;
}

/**
 * The decoded SGX extension of a PCK certificate.
 *
 * @example The FMSPC of the platform that produced a quote
 * ```ts
 * import type { PckSgxExtensions, VerifiedTdxQuote } from "../mod.ts";
 * import { encodeHex } from "../../mod.ts";
 *
 * function fmspc(verified: VerifiedTdxQuote): string {
 *   const pck: PckSgxExtensions = verified.pck;
 *   return encodeHex(pck.fmspc);
 * }
 * ```
 */
export interface PckSgxExtensions {
  /** PPID (16 bytes), the platform's provisioning id. */
  readonly ppid: Uint8Array;
  /** SGX TCB component SVNs 1..16. */
  readonly sgxTcbComponents: readonly number[];
  /** PCESVN. */
  readonly pceSvn: number;
  /** CPUSVN (16 bytes). */
  readonly cpuSvn: Uint8Array;
  /** PCE-ID (2 bytes). */
  readonly pceId: Uint8Array;
  /** FMSPC (6 bytes): family-model-stepping-platform-custom SKU. */
  readonly fmspc: Uint8Array;
  /** SGX type. */
  readonly sgxType: SgxType;
  /** Platform instance id (16 bytes; Platform CA certificates only). */
  readonly platformInstanceId?: Uint8Array;
  /** Platform configuration (Platform CA certificates only). */
  readonly configuration?: SgxConfiguration;
}

function octets(el: DerElement, field: string, length: number): Uint8Array {
  expectTag(el, Tag.octetString, field);
  if (el.value.length !== length) {
    throw new ParseError(field, `expected ${length} bytes, got ${el.value.length}`);
  }
  return el.value.slice();
}

function pairs(el: DerElement, field: string): Map<string, DerElement> {
  expectTag(el, Tag.sequence, field);
  const out = new Map<string, DerElement>();
  children(el, field).forEach((item, i) => {
    const f = `${field}[${i}]`;
    expectTag(item, Tag.sequence, f);
    const parts = children(item, f);
    if (parts.length !== 2) throw new ParseError(f, `expected OID and value, got ${parts.length}`);
    const oid = readOid(parts[0]!, `${f}.oid`);
    if (out.has(oid)) throw new ParseError(f, `duplicate entry ${oid}`);
    out.set(oid, parts[1]!);
  });
  return out;
}

function need(map: Map<string, DerElement>, oid: string, field: string): DerElement {
  const el = map.get(oid);
  if (!el) throw new ParseError(field, `missing (OID ${oid})`);
  return el;
}

function boolean(el: DerElement, field: string): boolean {
  expectTag(el, Tag.boolean, field);
  if (el.value.length !== 1 || (el.value[0] !== 0 && el.value[0] !== 0xff)) {
    throw new ParseError(field, "not a DER BOOLEAN");
  }
  return el.value[0] === 0xff;
}

/**
 * Parses the DER value (extnValue contents) of the SGX extension.
 *
 * @throws {ParseError} naming the sub-field that is missing or malformed
 */
export function parseSgxExtensions(der: Uint8Array): PckSgxExtensions {
  const F = "pck.sgxExtensions";
  const top = pairs(readSingle(der, Tag.sequence, F), F);
  const base = SGX_EXTENSION_OID;
  const tcbField = `${F}.tcb`;
  const tcb = pairs(need(top, `${base}.2`, tcbField), tcbField);
  const sgxTcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) {
    const f = `${tcbField}.sgxTcbComp${String(i).padStart(2, "0")}Svn`;
    const svn = readSmallInteger(need(tcb, `${base}.2.${i}`, f), f);
    if (svn > 255) throw new ParseError(f, `SVN ${svn} exceeds 255`);
    sgxTcbComponents.push(svn);
  }
  const pceSvn = readSmallInteger(
    need(tcb, `${base}.2.17`, `${tcbField}.pceSvn`),
    `${tcbField}.pceSvn`,
  );
  if (pceSvn > 0xffff) throw new ParseError(`${tcbField}.pceSvn`, `PCESVN ${pceSvn} exceeds 65535`);
  const cpuSvn = octets(need(tcb, `${base}.2.18`, `${tcbField}.cpuSvn`), `${tcbField}.cpuSvn`, 16);
  const typeEl = need(top, `${base}.5`, `${F}.sgxType`);
  expectTag(typeEl, ENUMERATED, `${F}.sgxType`);
  if (typeEl.value.length !== 1 || typeEl.value[0]! > 2) {
    throw new ParseError(`${F}.sgxType`, "expected 0 (Standard), 1 (Scalable) or 2");
  }
  const instance = top.get(`${base}.6`);
  const configEl = top.get(`${base}.7`);
  let configuration: SgxConfiguration | undefined;
  if (configEl) {
    const cf = `${F}.configuration`;
    const c = pairs(configEl, cf);
    const flag = (n: number, name: string) => {
      const el = c.get(`${base}.7.${n}`);
      return el ? boolean(el, `${cf}.${name}`) : undefined;
    };
    configuration = {
      dynamicPlatform: flag(1, "dynamicPlatform"),
      cachedKeys: flag(2, "cachedKeys"),
      smtEnabled: flag(3, "smtEnabled"),
    };
  }
  return {
    ppid: octets(need(top, `${base}.1`, `${F}.ppid`), `${F}.ppid`, 16),
    sgxTcbComponents,
    pceSvn,
    cpuSvn,
    pceId: octets(need(top, `${base}.3`, `${F}.pceId`), `${F}.pceId`, 2),
    fmspc: octets(need(top, `${base}.4`, `${F}.fmspc`), `${F}.fmspc`, 6),
    sgxType: typeEl.value[0] as SgxType,
    platformInstanceId: instance ? octets(instance, `${F}.platformInstanceId`, 16) : undefined,
    configuration,
  };
}

function entry(oid: string, value: Uint8Array): Uint8Array {
  return encodeElement(Tag.sequence, encodeOid(oid), value);
}

/**
 * Encodes an SGX extension value (the inverse of {@link parseSgxExtensions}), in the order and
 * types Intel uses. The simulated TDX authority puts this in its PCK certificates.
 */
export function encodeSgxExtensions(ext: PckSgxExtensions): Uint8Array {
  const base = SGX_EXTENSION_OID;
  const tcbEntries = ext.sgxTcbComponents.map((svn, i) =>
    entry(`${base}.2.${i + 1}`, encodeSmallInteger(svn))
  );
  tcbEntries.push(entry(`${base}.2.17`, encodeSmallInteger(ext.pceSvn)));
  tcbEntries.push(entry(`${base}.2.18`, encodeElement(Tag.octetString, ext.cpuSvn)));
  const items = [
    entry(`${base}.1`, encodeElement(Tag.octetString, ext.ppid)),
    entry(`${base}.2`, encodeElement(Tag.sequence, ...tcbEntries)),
    entry(`${base}.3`, encodeElement(Tag.octetString, ext.pceId)),
    entry(`${base}.4`, encodeElement(Tag.octetString, ext.fmspc)),
    entry(`${base}.5`, encodeElement(ENUMERATED, Uint8Array.of(ext.sgxType))),
  ];
  if (ext.platformInstanceId) {
    items.push(entry(`${base}.6`, encodeElement(Tag.octetString, ext.platformInstanceId)));
  }
  if (ext.configuration) {
    const c = ext.configuration;
    const flags: Uint8Array[] = [];
    const add = (n: number, v: boolean | undefined) => {
      if (v !== undefined) {
        flags.push(
          entry(`${base}.7.${n}`, encodeElement(Tag.boolean, Uint8Array.of(v ? 0xff : 0))),
        );
      }
    };
    add(1, c.dynamicPlatform);
    add(2, c.cachedKeys);
    add(3, c.smtEnabled);
    items.push(entry(`${base}.7`, encodeElement(Tag.sequence, ...flags)));
  }
  return encodeElement(Tag.sequence, ...items);
}
