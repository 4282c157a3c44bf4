# The pattern shortcuts in rules.rego (pattern_match, kata_id, the sandbox ID check) must decide
# exactly what regex.match decides: every pattern below is checked against every value, including
# near misses (one character short or long, upper case, wrong separator, another ID, a suffix).
# Run with `opa test rego/`.
package agent_policy_patterns_test

import rego.v1

import data.agent_policy

id_a := concat("", [x | some _ in numbers.range(1, 64); x := "a"])

id_b := concat("", ["0123456789abcdef", "0123456789abcdef", "0123456789abcdef", "0123456789abcdef"])

hex16 := "0123456789abcdef"

dir := "/run/kata-containers/shared/containers/"

patterns := [
	"^[A-Za-z0-9][A-Za-z0-9_.-]+$",
	`^/run/containerd/io\.containerd\.runtime\.v2\.task/k8s\.io/[A-Za-z0-9][A-Za-z0-9_.-]+$`,
	"^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-hosts$",
	`^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-resolv\.conf$`,
	`^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-termination\-log$`,
	concat("", ["^/run/kata-containers/shared/containers/", id_a, `-[a-z0-9]{16}-termination\-log$`]),
	"^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-(hosts|hostname)$",
	"^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$",
	"^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-a.c$",
	"^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-a|b$",
	"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
	"^x[A-Za-z0-9][A-Za-z0-9_.-]+$",
	`^x\[A-Za-z0-9][A-Za-z0-9_.-]+$`,
	"^[A-Za-z0-9][A-Za-z0-9_.-]+",
	"[A-Za-z0-9][A-Za-z0-9_.-]+$",
	"^web-[a-z0-9]{1,10}-[a-z0-9]{5}$",
	`^HOSTNAME=web\-[a-z0-9]{1,10}-[a-z0-9]{5}$`,
	"^[a-z0-9]{1,10}-[a-z0-9]{5}$",
	"^web[a-z0-9]{1,10}-[a-z0-9]{5}$",
	"^proc$",
	`^/run/kata-containers/shared/containers/a\.b-[a-z0-9]{16}-termination\-log$`,
	`^/run/kata-containers/shared/containers/gid-[a-z0-9]{16}-hosts$`,
	`^/run/kata-containers/a\.b/rootfs$`,
]

shared(id, mid, name) := concat("", [dir, id, "-", mid, "-", name])

values := [
	id_a,
	id_b,
	upper(id_b),
	substring(id_a, 1, -1),
	concat("", [id_a, "a"]),
	concat("", ["x", id_a]),
	concat("", ["x", substring(id_a, 1, -1)]),
	"x[A-Za-z0-9][A-Za-z0-9_.-]+",
	concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", id_b]),
	concat("", ["/run/containerd/ioXcontainerd.runtime.v2.task/k8s.io/", id_b]),
	concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", id_b, "/"]),
	shared(id_a, hex16, "hosts"),
	shared(id_b, hex16, "hosts"),
	shared(id_a, hex16, "hostname"),
	shared(id_a, hex16, "resolv.conf"),
	shared(id_a, hex16, "resolvXconf"),
	shared(id_a, hex16, "termination-log"),
	shared(id_b, hex16, "termination-log"),
	shared(id_a, "0123456789ABCDEF", "hosts"),
	shared(id_a, "0123456789abcde", "hosts"),
	shared(id_a, "0123456789abcdef0", "hosts"),
	shared(substring(id_a, 1, -1), hex16, "hosts"),
	shared(id_a, hex16, "hosts/x"),
	shared(id_a, hex16, "a.c"),
	shared(id_a, hex16, "abc"),
	shared(id_a, hex16, "a|b"),
	shared(id_a, hex16, "a"),
	shared(id_a, hex16, "a/b_c/D.e-f"),
	shared(id_a, hex16, "a_b"),
	shared(id_a, hex16, "a//b"),
	shared(id_a, hex16, "a/"),
	shared(id_a, hex16, "/a"),
	shared(id_a, hex16, ""),
	shared(id_a, hex16, "a/b c"),
	shared(id_a, hex16, "..\n"),
	shared(id_b, hex16, "hostname"),
	shared(id_a, hex16, "hostnamex"),
	shared(id_a, "0123456789abcdeX", "a/b"),
	shared(upper(id_b), hex16, "a/b"),
	concat("", [dir, id_a, "_", hex16, "-hosts"]),
	# Kata's container IDs (kata-sys-util verify_id) besides containerd's 64 hex characters, and
	# the ones it refuses: empty, one character, `.`/`-`/`_` first, `/`, spaces, upper case hex.
	"gid",
	"aa",
	"a.",
	"a..",
	"hello..world",
	"aAzZ0123456789_.-",
	"a",
	".",
	"..",
	".a",
	"-a",
	"_a",
	"a/",
	"../a",
	"a/../b",
	"foo bar",
	"/run/kata-containers/a.b/rootfs",
	"/run/kata-containers/a/b/rootfs",
	"/run/kata-containers/aXb/rootfs",
	shared("gid", hex16, "hosts"),
	shared("g-i-d", hex16, "hosts"),
	shared("a.b", hex16, "termination-log"),
	shared("a.b", hex16, "a/b"),
	shared("..", hex16, "hosts"),
	shared(".a", hex16, "hosts"),
	shared("a/..", hex16, "hosts"),
	shared("a", hex16, "hosts"),
	shared("", hex16, "hosts"),
	shared(concat("-", [hex16, "x"]), hex16, "hosts"),
	shared("gid", hex16, concat("-", [hex16, "hosts"])),
	concat("", [dir, "gid-", hex16, "-", hex16, "-hosts"]),
	concat("", [dir, "gid-", hex16, "-hosts"]),
	concat("", [dir, "a.b-", hex16, "-termination-log"]),
	concat("", [dir, "aXb-", hex16, "-termination-log"]),
	concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", "gid"]),
	concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", ".."]),
	concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", "a/b"]),
	concat("", ["/run/kata-containers/shared/containerX/", id_a, "-", hex16, "-hosts"]),
	"0123abcd-0123-4567-89ab-0123456789ab",
	"0123abcd-0123-4567-89ab-0123456789aB",
	"0123abcd0-123-4567-89ab-0123456789ab",
	"0123abcd-0123-4567-89ab-0123456789a",
	"0123abcd-0123-4567-89ab-0123456789abc",
	"0123abcd-0123-4567-89ab--123456789ab",
	"web-abc-12345",
	"web-a-12345",
	"web-abcdefghij-12345",
	"web-abcdefghijk-12345",
	"web--12345",
	"web-abc-1234",
	"web-abc-123456",
	"web-ab-c-12345",
	"web-abC-12345",
	"web-abc_12345",
	"HOSTNAME=web-7c9fd6b5d8-x2kqp",
	"HOSTNAME=web-7c9fd6b5d8-x2kq",
	"abc-12345",
	"webabc-12345",
	"proc",
	"",
	"é",
	"registry.example/app@sha256:a1",
	"registryXexample/app@sha256:a1",
	"registry.example/app@sha256:a10",
	"/run/kata-containers/sandbox/shm",
	"/run/kata-containers/sandbox/shm/",
	"a+",
	"a",
	"aa",
	"abc",
	"^abc",
	"abc$",
	"a.b",
	"aXb",
	`a\.b`,
	`a\Xb`,
	"123",
	"size=123",
	"size=",
]

disagreements contains [p, v] if {
	some p in patterns
	some v in values
	agent_policy.pattern_match(p, v)
	not regex.match(p, v)
}

disagreements contains [p, v] if {
	some p in patterns
	some v in values
	regex.match(p, v)
	not agent_policy.pattern_match(p, v)
}

test_pattern_match_decides_exactly_what_regex_match_decides if {
	count(disagreements) == 0
}

# The table exercises both outcomes and the shortcuts, not only the regex fallback.
test_the_table_has_matches_and_near_misses_for_each_shortcut if {
	some v in values
	agent_policy.pattern_match(patterns[2], v)
	some w in values
	not agent_policy.pattern_match(patterns[2], w)
	not agent_policy.pattern_shape(patterns[0]).regex
	not agent_policy.pattern_shape(patterns[1]).regex
	not agent_policy.pattern_shape(patterns[2]).regex
	not agent_policy.pattern_shape(patterns[5]).regex
	not agent_policy.pattern_shape(patterns[10]).regex
	not agent_policy.pattern_shape(patterns[6]).regex
	not agent_policy.pattern_shape(patterns[7]).regex
	agent_policy.pattern_shape(patterns[8]).regex
	agent_policy.pattern_shape(patterns[9]).regex
	agent_policy.pattern_shape(patterns[12]).regex
	agent_policy.pattern_shape(patterns[13]).regex
	agent_policy.pattern_shape(patterns[14]).regex
	not agent_policy.pattern_shape(patterns[20]).regex
	not agent_policy.pattern_shape(patterns[21]).regex
}

test_container_and_sandbox_ids_as_the_patterns_they_replace if {
	every v in values {
		kata_id_ok(v) == regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, v)
	}
	every v in array.concat(values, [concat("", [id_a, id_a]), concat("", [id_a, id_a, "a"])]) {
		sandbox_id_ok(v) == regex.match(`^[a-z0-9]{1,128}$`, v)
	}
}

sandbox_id_ok(v) if {
	count(v) <= 128
	agent_policy.lower_alphanumeric(v)
}

default sandbox_id_ok(_) := false

kata_id_ok(v) if agent_policy.kata_id(v)

default kata_id_ok(_) := false
