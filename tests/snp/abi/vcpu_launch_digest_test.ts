/**
 * Launch digests for more vCPUs from the 1-vCPU digest and the firmware's AP reset EIP (Contrast's
 * `APEIP`), checked against digests computed independently over a whole launch: sev-snp-measure's
 * OVMF fixture `ovmf_AmdSev_suffix.bin` (AP reset EIP 0x80b004), vCPU model EPYC-v4 (signature
 * 0x800f12), SEV features 0x1, empty kernel and initrd, command line "console=ttyS0 loglevel=7",
 * measured with 1 and with 4 vCPUs (the test vectors of a public Go port of sev-snp-measure).
 */
import assert from "node:assert/strict";
import { decodeHex, encodeHex } from "../../../util/bytes/mod.ts";
import {
  MAX_SNP_VCPUS,
  snpLaunchDigestsByVcpus,
  snpVcpuSignature,
} from "../../../snp/abi/vcpu_launch_digest.ts";

const ONE_VCPU =
  "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa";
const FOUR_VCPUS =
  "ef493c232fc8fac47f485398e3873a84ac5c45570bcd8a34aba093c084060534d633824df94b9eba33dc3a3052ae565a";
const AP_EIP = 0x80b004;
const EPYC_V4 = 0x800f12;

Deno.test("the 4-vCPU launch digest is the 1-vCPU digest extended by three AP VMSA pages", () => {
  const digests = [...snpLaunchDigestsByVcpus(decodeHex(ONE_VCPU), AP_EIP, EPYC_V4, 4)];
  assert.equal(digests.length, 4);
  assert.equal(encodeHex(digests[0]!), ONE_VCPU);
  assert.equal(encodeHex(digests[3]!), FOUR_VCPUS);
  // Another AP reset EIP or vCPU model gives other digests.
  assert.notEqual(
    encodeHex([...snpLaunchDigestsByVcpus(decodeHex(ONE_VCPU), AP_EIP + 0x10, EPYC_V4, 4)][3]!),
    FOUR_VCPUS,
  );
  assert.notEqual(
    encodeHex([...snpLaunchDigestsByVcpus(decodeHex(ONE_VCPU), AP_EIP, 0xa00f11, 4)][3]!),
    FOUR_VCPUS,
  );
});

Deno.test("digests are derived for 1 to 220 vCPUs, all distinct", () => {
  const all = [...snpLaunchDigestsByVcpus(decodeHex(ONE_VCPU), AP_EIP, EPYC_V4)].map(encodeHex);
  assert.equal(MAX_SNP_VCPUS, 220);
  assert.equal(all.length, 220);
  assert.equal(new Set(all).size, 220);
});

Deno.test("vCPU models: EPYC-Milan for Milan, EPYC-Genoa for Genoa, none for Turin", () => {
  assert.equal(snpVcpuSignature("Milan"), 0xa00f11);
  assert.equal(snpVcpuSignature("Genoa"), 0xa10f10);
  assert.equal(snpVcpuSignature("Turin"), undefined);
});
