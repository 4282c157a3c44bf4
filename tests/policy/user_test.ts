import assert from "node:assert/strict";
import { IssueList } from "../../util/json/mod.ts";
import { resolveUser } from "../../policy/user.ts";

const passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n";
const group = "root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n";

Deno.test("image user names resolve through /etc/passwd and /etc/group, with the user's groups", () => {
  const issues = new IssueList();
  assert.deepEqual(
    resolveUser({ podGroups: [], imageUser: "app", passwd, group }, "image", issues),
    {
      uid: 1000,
      gid: 1001,
      additionalGids: [1001, 2000],
    },
  );
  assert.deepEqual(
    resolveUser({ podGroups: [], imageUser: "app:extra", passwd, group }, "image", issues).gid,
    2000,
  );
  assert.deepEqual(
    resolveUser({ podGroups: [], imageUser: "1000:5", passwd, group }, "image", issues).gid,
    5,
  );
  assert.ok(issues.empty);
});

Deno.test("securityContext overrides the image user; supplemental groups and fsGroup are allowed", () => {
  const issues = new IssueList();
  const u = resolveUser(
    {
      runAsUser: 1000,
      runAsGroup: 3000,
      podGroups: [4000, 5000],
      imageUser: "root",
      passwd,
      group,
    },
    "image",
    issues,
  );
  assert.deepEqual(u, { uid: 1000, gid: 3000, additionalGids: [2000, 3000, 4000, 5000] });
  assert.deepEqual(resolveUser({ podGroups: [], imageUser: "", passwd, group }, "image", issues), {
    uid: 0,
    gid: 0,
    additionalGids: [0],
  });
});

Deno.test("an image user or group missing from the image files is an error", () => {
  const issues = new IssueList();
  resolveUser({ podGroups: [], imageUser: "ghost", passwd, group }, "c.image", issues);
  resolveUser({ podGroups: [], imageUser: "app:ghosts", passwd, group }, "c.image", issues);
  resolveUser({ podGroups: [], imageUser: "app" }, "c.image", issues);
  assert.deepEqual(issues.issues.map((i) => i.reason), [
    'image user "ghost" is not in the image\'s /etc/passwd',
    'image group "ghosts" is not in the image\'s /etc/group',
    'image user "app" is not in the image\'s /etc/passwd',
  ]);
});

Deno.test("image users containerd refuses or truncates are issues, not a policy for another user", () => {
  // containerd's WithUser refuses a USER with more than one ':' (contrast read "0:0:x" as 0:0),
  // and converts ids with uint32(), so 4294967296 runs as uid 0 (contrast pinned 4294967296).
  const big = "big:x:4294967296:4294967297::/:/bin/sh\n";
  for (
    const [user, reason] of [
      ["0:0:x", /more than one ':'/],
      ["4294967296", /uid 4294967296 .*32 bits/],
      ["1000:4294967296", /gid 4294967296 .*32 bits/],
      ["big", /uid 4294967296 .*32 bits/],
    ] as const
  ) {
    const issues = new IssueList();
    resolveUser({ podGroups: [], imageUser: user, passwd: passwd + big, group }, "image", issues);
    assert.equal(issues.issues.length >= 1, true, user);
    assert.equal(issues.issues[0]!.path, "image", user);
    assert.match(issues.issues[0]!.reason, reason, user);
  }
  const fine = new IssueList();
  resolveUser({ podGroups: [], imageUser: "4294967295:0", passwd, group }, "image", fine);
  assert.ok(fine.empty);
});
