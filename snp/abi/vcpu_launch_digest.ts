/**
 * SEV-SNP launch digests for more vCPUs from the 1-vCPU digest and the firmware's AP reset EIP
 * (Contrast's `APEIP`). A QEMU guest's launch digest ends with one VMSA page per vCPU: the boot
 * processor's, then one identical page per application processor (AP), whose reset EIP comes from
 * the OVMF footer table. Each page extends the digest with SNP_LAUNCH_UPDATE's PAGE_INFO (SEV-SNP
 * ABI specification, "PAGE_INFO"): the current digest, the SHA-384 of the page, length 0x70, page
 * type VMSA (2), no IMI, no VMPL permissions, and the VMSA's GPA. So the digest of `n` vCPUs is the
 * 1-vCPU digest extended by `n − 1` AP pages: the firmware, kernel hashes and every other page are
 * already in the 1-vCPU digest.
 *
 * The VMSA register values are QEMU's reset state for an SEV-SNP vCPU (AMD64 APM vol. 2 "VMSA"
 * layout, as sev-snp-measure and Contrast compute them for VMM type QEMU): real-mode segments, CS
 * based at the EIP's upper half, EFER.SVME, CR4.MCE, RDX = the vCPU's CPUID signature, SEV_FEATURES,
 * XCR0 = 1, the default PAT, MXCSR and x87 control word.
 *
 * @module
 */
import { digestSync } from "../../util/bytes/digest_sync.ts";
import type { SnpProductName } from "./product.ts";

/**
 * Highest vCPU count a launch digest is derived for with `APEIP` (Contrast's bound).
 *
 * @example
 * ```ts
 * import { MAX_SNP_VCPUS } from "../mod.ts";
 *
 * console.log(MAX_SNP_VCPUS); // 220
 * ```
 */
export const MAX_SNP_VCPUS = 220;

const VMSA_PAGE_TYPE = 2;
const VMSA_GPA = 0xffff_ffff_f000n;
const PAGE_INFO_LENGTH = 0x70;
/** SEV_FEATURES of Kata/QEMU SNP guests: SNPActive only. */
const SEV_FEATURES_SNP_ACTIVE = 0x1n;

/** CPUID Fn0000_0001 EAX of a QEMU vCPU model (family, model, stepping). */
function cpuSignature(family: number, model: number, stepping: number): number {
  const [familyLow, familyHigh] = family > 0xf ? [0xf, (family - 0xf) & 0xff] : [family, 0];
  return (familyHigh << 20) | (((model >> 4) & 0xf) << 16) | (familyLow << 8) |
    ((model & 0xf) << 4) | (stepping & 0xf);
}

/**
 * The vCPU signature Contrast derives launch digests with, per product: QEMU's `EPYC-Milan`
 * (family 25, model 1, stepping 1) and `EPYC-Genoa` (family 25, model 17, stepping 0). Turin has
 * none (Contrast supports no `APEIP` there).
 */
const VCPU_SIGNATURES: Readonly<Partial<Record<SnpProductName, number>>> = {
  Milan: cpuSignature(25, 1, 1),
  Genoa: cpuSignature(25, 17, 0),
};

/**
 * The CPUID signature of the vCPU model launch digests of `product` are derived with, or
 * undefined when there is none (Turin).
 *
 * @example
 * ```ts
 * import { snpVcpuSignature } from "../mod.ts";
 *
 * console.log(snpVcpuSignature("Genoa")?.toString(16)); // a10f10
 * ```
 */
export function snpVcpuSignature(product: SnpProductName): number | undefined {
  return VCPU_SIGNATURES[product];
}

function segment(page: DataView, offset: number, selector: number, attrib: number, base: number) {
  page.setUint16(offset, selector, true);
  page.setUint16(offset + 2, attrib, true);
  page.setUint32(offset + 4, 0xffff, true);
  page.setBigUint64(offset + 8, BigInt(base), true);
}

/** The 4096-byte VMSA of a QEMU SNP vCPU starting at `eip`. */
function vmsaPage(eip: number, vcpuSignature: number): Uint8Array {
  const bytes = new Uint8Array(4096);
  const v = new DataView(bytes.buffer);
  const u64 = (offset: number, value: bigint | number) =>
    v.setBigUint64(offset, BigInt(value), true);
  for (const offset of [0x00, 0x30, 0x40, 0x50]) segment(v, offset, 0, 0x93, 0); // es ds fs gs
  segment(v, 0x10, 0xf000, 0x9b, eip & 0xffff0000); // cs
  segment(v, 0x20, 0, 0x93, 0); // ss
  segment(v, 0x60, 0, 0, 0); // gdtr
  segment(v, 0x70, 0, 0x82, 0); // ldtr
  segment(v, 0x80, 0, 0, 0); // idtr
  segment(v, 0x90, 0, 0x8b, 0); // tr
  u64(0x0d0, 0x1000); // EFER.SVME
  u64(0x148, 0x40); // CR4.MCE
  u64(0x158, 0x10); // CR0.ET
  u64(0x160, 0x400); // DR7
  u64(0x168, 0xffff0ff0); // DR6
  u64(0x170, 0x2); // RFLAGS
  u64(0x178, eip & 0xffff); // RIP
  u64(0x268, 0x0007040600070406n); // G_PAT
  u64(0x310, vcpuSignature >>> 0); // RDX
  u64(0x3b0, SEV_FEATURES_SNP_ACTIVE);
  u64(0x3e8, 0x1); // XCR0
  v.setUint32(0x408, 0x1f80, true); // MXCSR
  v.setUint16(0x410, 0x37f, true); // x87 FCW
  return bytes;
}

function sha384(data: Uint8Array): Uint8Array {
  return digestSync("SHA-384", data);
}

/** The PAGE_INFO tail after the current digest: an AP's VMSA contents, length, type and GPA. */
function apPageInfoTail(apEip: number, vcpuSignature: number): Uint8Array {
  const tail = new Uint8Array(48 + 16);
  tail.set(sha384(vmsaPage(apEip, vcpuSignature)), 0);
  const v = new DataView(tail.buffer);
  v.setUint16(48, PAGE_INFO_LENGTH, true);
  v.setUint8(50, VMSA_PAGE_TYPE);
  v.setBigUint64(56, VMSA_GPA, true);
  return tail;
}

/**
 * The launch digests for 1, 2, … `max` vCPUs, derived from `oneVcpu` (the 1-vCPU digest): each
 * next one extends the previous by one AP VMSA page.
 *
 * @example Find the vCPU count a report's measurement was launched with
 * ```ts
 * import { snpLaunchDigestsByVcpus, snpVcpuSignature } from "../mod.ts";
 *
 * function vcpusOf(measurement: string, oneVcpu: Uint8Array, apEip: number): number | undefined {
 *   let n = 0;
 *   for (const digest of snpLaunchDigestsByVcpus(oneVcpu, apEip, snpVcpuSignature("Genoa")!)) {
 *     n++;
 *     if (Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") === measurement) return n;
 *   }
 *   return undefined;
 * }
 * ```
 */
export function* snpLaunchDigestsByVcpus(
  oneVcpu: Uint8Array,
  apEip: number,
  vcpuSignature: number,
  max: number = MAX_SNP_VCPUS,
): Generator<Uint8Array> {
  const info = new Uint8Array(PAGE_INFO_LENGTH);
  info.set(apPageInfoTail(apEip, vcpuSignature), 48);
  let digest: Uint8Array = oneVcpu.slice();
  for (let n = 1; n <= max; n++) {
    yield digest;
    info.set(digest, 0);
    digest = sha384(info);
  }
}
