import assert from "node:assert/strict";
import {
  AllocationSampler,
  formatAllocations,
  type SamplingHeapProfile,
  summarizeAllocations,
} from "../../bench/coordinator_floor/allocation_profile.ts";

const frame = (functionName: string, url = "file:///repo/util/x.ts", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

Deno.test("summarizeAllocations: self and inclusive bytes per operation, recursion counted once", () => {
  const profile: SamplingHeapProfile = {
    head: {
      callFrame: frame("(root)", ""),
      selfSize: 0,
      children: [{
        callFrame: frame("parse"),
        selfSize: 400,
        children: [
          { callFrame: frame("slice", ""), selfSize: 600, children: [] },
          {
            callFrame: frame("parse"),
            selfSize: 200,
            children: [{
              callFrame: frame("sha", "file:///c/npm/registry.npmjs.org/@noble/hashes/2.4.0/x.js"),
              selfSize: 800,
              children: [],
            }],
          },
        ],
      }],
    },
  };
  const summary = summarizeAllocations(profile, 10);
  assert.equal(summary.totalBytes, 200);
  assert.deepEqual(summary.self.map((e) => [e.name, e.bytes]), [
    ["sha npm:@noble/hashes:1", 80],
    ["parse util/x.ts:1", 60],
    ["slice ", 60],
    ["(root) ", 0],
  ]);
  // parse's inclusive bytes: its own 400 + 200, slice 600, the hash 800; the recursive call is
  // not added a second time, and npm and native frames are not repository functions.
  assert.deepEqual(summary.inclusive.map((e) => [e.name, e.bytes]), [["parse util/x.ts:1", 200]]);
  assert.match(formatAllocations(summary, "request"), /allocated per request \(sampled\): 0\.2 KB/);
});

Deno.test("AllocationSampler: counts allocations the garbage collector has already freed", async () => {
  const sampler = await AllocationSampler.start(512);
  let keep = 0;
  for (let i = 0; i < 100_000; i++) keep += new Array(32).fill(i).length; // all garbage at once
  const summary = summarizeAllocations(await sampler.stop(), 1);
  assert.equal(keep, 3_200_000);
  // 100,000 arrays of 32 elements, >= 12 MB: more than a young generation holds, so most were
  // collected before the end; without the collected objects far less would be reported.
  assert.ok(summary.totalBytes > 10_000_000, `sampled only ${summary.totalBytes} bytes`);
});
