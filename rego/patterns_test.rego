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
	"^web-[a-z0-9]{5}$",
	`^web\.x-[a-z0-9]{5}$`,
	"^[a-z0-9]{5}$",
	"^db-[0-9]+$",
	"^[0-9]+$",
	"^-?[0-9]+$",
	"^size=[0-9]+$",
	"^size=-?[0-9]+$",
	"^web-(abc|[a-z0-9-]{3})[a-z0-9]{5}$",
	"^web-([a-z0-9]{1,10}-)?[a-z0-9]{5}$",
	"^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}$",
	"^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}",
	"^image_guest_pull=.*$",
	"^.*$",
	`^a\.b=.*$`,
	"^a.b=.*$",
	"^noexec$",
	"^mode=1777$",
	`^a\.b$`,
	"^$",
	"^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
	"^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
	`^/var/run/netns/cni\-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`,
	`^vote\-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$`,
	"^[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$",
	`^job\-1-([0-9]+-)?[a-z0-9]{5}$`,
	"^([0-9]+-)?[a-z0-9]{5}$",
	"^vote-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}",
	"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$",
	"^[A-Za-z0-9][A-Za-z0-9._/:@-]*",
	"^[A-Za-z0-9][A-Za-z0-9._/:@-]+$",
]

shared(id, mid, name) := concat("", [dir, id, "-", mid, "-", name])

values := [
	id_a,
	# the pause image's name (image_ref) and near misses: first character, characters, newline
	"registry.k8s.io/pause:3.10",
	"registry.k8s.io/pause@sha256:0123456789abcdef",
	"Registry_1.example:5000/a-b/c@d",
	"p",
	"P",
	"9",
	"_pause",
	".pause",
	"-pause",
	"/pause",
	":pause",
	"@pause",
	"pause:3.10\n",
	"pause 3.10",
	"pause+3.10",
	"pausé",
	"épause",
	"pause\\x",
	"",
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
	"vote-bot-29012345-abcde",
	"vote-bot-29012345-7-abcde",
	"vote-bot-29012345-17-a1b2c",
	"vote-bot-1-abcde",
	"vote-bot-12345678901-abcde",
	"vote-bot-123456789012-abcde",
	"vote-bot--abcde",
	"vote-bot-2901-7-abcd",
	"vote-bot-2901-7-abcdef",
	"vote-bot-2901--abcde",
	"vote-bot-2901-7-8-abcde",
	"vote-bot-2901-a-abcde",
	"vote-bot-29a1-abcde",
	"vote-bot-2901-abcdE",
	"vote-bot-2901_abcde",
	"vote-bot-2901-abcde\n",
	"vote-bot-2901-abcde-",
	"vote-bot-abcde",
	"votexbot-2901-abcde",
	"29012345-abcde",
	"29012345-7-abcde",
	"-abcde",
	"7-abcde",
	"77-abc-e",
	"job-1-abcde",
	"job-1-3-abcde",
	"job-1-x-abcde",
	"job-1--abcde",
	"job-1-3-4-abcde",
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
	"size=-123",
	"size=--123",
	"size=-",
	"size=12a",
	"-123",
	"-",
	"--1",
	"+1",
	"1e3",
	" 1",
	"1\n",
	"web-x2kqp",
	"web-x2kq",
	"web-x2kqpp",
	"web-X2kqp",
	"web.x-x2kqp",
	"webXx-x2kqp",
	"x2kqp",
	"web-abcx2kqp",
	"web-a-cx2kqp",
	"db-0",
	"db-12",
	"db-",
	"db-1a",
	"db--1",
	"/var/log/pods/shop_web-7c9fd6b5d8-x2kqp_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_web.x_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_web_0123abcd-0123-4567-89ab-0123456789ag",
	"/var/log/pods/Shop_web_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_we/b_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_web_0123abcd-0123-4567-89ab-0123456789a ",
	"/var/log/pods/shop_web_------------------------------------",
	"/var/log/pods/s_w_0123abcd0123456789ab0123456789abcdef",
	"0123abcd-0123-4567-89ab-0123456789ag",
	"0123abcd-0123-4567-89ab-g123456789ab",
	"12",
	"1x",
	"x1",
	"1 ",
	"/var/log/pods/shop_web-7c9fd6b5d8-x2kqp_0123abcd-0123-4567-89ab-0123456789ab/x",
	"/var/log/pods/shop_web-7c9fd6b5d8-x2kqp_0123abcd-0123-4567-89ab-0123456789a",
	"/var/log/pods/shop_web-7c9fd6b5d8-x2kqp_0123abcd-0123-4567-89ab-0123456789abc",
	"/var/log/pods/shop_web-7c9fd6b5d8-x2kqp_0123abcd-0123-4567-89ab-0123456789aB",
	"/var/log/pods/_web_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop__0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_web_x_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/Shop_web_0123abcd-0123-4567-89ab-0123456789ab",
	"/var/log/pods/shop_web_------------------------------------",
	"/var/log/podsXshop_web_0123abcd-0123-4567-89ab-0123456789ab",
	"image_guest_pull=",
	`image_guest_pull={"metadata":{"a":"b"}}`,
	"image_guest_pull=a\nb",
	"image_guest_pull=\n",
	"image_guest_pullX",
	"ximage_guest_pull=a",
	"a.b=1",
	"aXb=1",
	"noexec",
	"noexecx",
	"mode=1777",
	"mode=17777",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789ab",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789abc",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789a",
	"/var/run/netns/cni-0123ABCD-4567-89ab-cdef-0123456789ab",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789ab\n",
	"/var/run/netns/cni-0123abcd4-567-89ab-cdef-0123456789ab",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789-b",
	"/var/run/netns/cnix0123abcd-4567-89ab-cdef-0123456789ab",
	"/var/run/netns/cni-0123abcd-4567-89ab-cdef-0123456789ab/x",
	"0123abcd-4567-89ab-cdef-0123456789ab",
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
	agent_policy.pattern_shape("^[A-Za-z0-9][A-Za-z0-9._/:@-]*$") == {"image_ref": true}
	agent_policy.pattern_shape("^[A-Za-z0-9][A-Za-z0-9._/:@-]*").regex
	agent_policy.pattern_shape("^[A-Za-z0-9][A-Za-z0-9._/:@-]+$").regex
	not agent_policy.pattern_shape(patterns[20]).regex
	not agent_policy.pattern_shape(patterns[21]).regex
}

# The name, number and log-directory shapes are taken (not the regex fallback) where they apply,
# and not where the pattern only looks like them.
test_name_number_and_log_dir_shapes_apply_where_they_should if {
	agent_policy.pattern_shape("^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$") == {"uuid": true}
	agent_policy.pattern_shape("^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$") == {"prefix": "/var/run/netns/cni-", "tail": "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"}
	every p in [
		"^web-[a-z0-9]{1,10}-[a-z0-9]{5}$", "^web-[a-z0-9]{5}$", `^web\.x-[a-z0-9]{5}$`,
		"^db-[0-9]+$", "^[0-9]+$", "^-?[0-9]+$", "^size=[0-9]+$",
		"^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}$", "^image_guest_pull=.*$",
		"^noexec$", `^a\.b$`, "^$", "^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
		`^vote\-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}$`, `^job\-1-([0-9]+-)?[a-z0-9]{5}$`,
	] {
		not agent_policy.pattern_shape(p).regex
	}
	every p in [
		"^web-(abc|[a-z0-9-]{3})[a-z0-9]{5}$", "^web-([a-z0-9]{1,10}-)?[a-z0-9]{5}$",
		"^size=-?[0-9]+", "^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}",
		"^/var/run/netns/cni-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
		"^vote-bot-[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}",
	] {
		agent_policy.pattern_shape(p).regex
	}
}

test_container_and_sandbox_ids_as_the_patterns_they_replace if {
	every v in values {
		kata_id_ok(v) == regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, v)
	}
	every v in array.concat(values, [concat("", [id_a, id_a]), concat("", [id_a, id_a, "a"])]) {
		sandbox_id_ok(v) == regex.match(`^[a-z0-9]{1,128}$`, v)
	}
}

# kata_id's shortcuts decide as the pattern: the request's own container ID (decided once per
# evaluation) and the sandbox ID of the policy state (which CreateSandbox admits lower-case
# alphanumeric only, so the sandbox IDs tried here are those).
test_kata_id_shortcuts_as_the_pattern if {
	every v in array.concat(values, ["a\n", "\na", "aé", "a b", "ab+", concat("", [id_b, "\n"])]) {
		own_container_id_ok(v) == regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, v)
		kata_id_as_own_container_id(v) == regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, v)
	}
	every v in [id_a, id_b, "a", "ab", "0", "01", substring(id_b, 0, 16)] {
		kata_id_as_sandbox_id(v) == regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, v)
	}
	not own_container_id_ok(5)
	not agent_policy.input_container_id_ok with input as {}
}

own_container_id_ok(v) if agent_policy.input_container_id_ok with input as {"container_id": v}

default own_container_id_ok(_) := false

kata_id_as_own_container_id(v) if agent_policy.kata_id(v) with input as {"container_id": v}

default kata_id_as_own_container_id(_) := false

kata_id_as_sandbox_id(v) if agent_policy.kata_id(v) with data.pstate as {"sandbox_id": v}

default kata_id_as_sandbox_id(_) := false

sandbox_id_ok(v) if {
	count(v) <= 128
	agent_policy.lower_alphanumeric(v)
}

default sandbox_id_ok(_) := false

kata_id_ok(v) if agent_policy.kata_id(v)

default kata_id_ok(_) := false

# The environment shortcuts (env_regex_match) decide exactly what regex.match decides for the
# settings.json patterns and the pod's HOSTNAME pattern, also where a name only looks like a
# service link.
env_patterns := [
	agent_policy.service_link_env_pattern,
	agent_policy.kubernetes_env_pattern,
	"^HOSTNAME=web-[a-z0-9]{1,10}-[a-z0-9]{5}$",
	`^HOSTNAME=web\-[a-z0-9]{1,10}-[a-z0-9]{5}$`,
	`^HOSTNAME=my\.host$`,
	"^HOSTNAME=db-[0-9]+$",
	"^HOSTNAME=a|b$",
	"^HOSTNAME=^a$",
	`^HOSTNAME=\Aa$`,
	"^HOSTNAME=[^a]$",
	"^FOO=[a-z]+$",
]

env_names := [
	"DB_SERVICE_HOST", "DB_SERVICE_PORT", "DB_SERVICE_PORT_HTTP", "DB_SERVICE_PORT_A_B",
	"DB_SERVICE_PORT_", "DB_SERVICE_PORT__", "DB_PORT", "DB_PORT_5432_TCP", "DB_PORT_5432_UDP",
	"DB_PORT_5432_SCTP", "DB_PORT_5432_TCP_PROTO", "DB_PORT_5432_TCP_PORT",
	"DB_PORT_5432_TCP_ADDR", "DB_PORT_5432_TCP_X", "DB_PORT_X_TCP", "DB_PORT__TCP",
	"DB_PORT_5432_tcp", "DB_PORT_5432", "DB_PORT_5432_TCP_ADDR_X", "MY_DB_2_SERVICE_HOST",
	"_SERVICE_HOST", "__SERVICE_HOST", "SERVICE_HOST", "_PORT", "__PORT", "PORT",
	"_PORT_1_TCP", "__PORT_1_TCP", "_PORT_1_TCP_ADDR", "__PORT_1_TCP_ADDR",
	"_SERVICE_PORT_X", "A_SERVICE_PORT_X_SERVICE_PORT_Y", "_SERVICE_PORT_X_SERVICE_PORT_Y",
	"db_SERVICE_HOST", "DB-X_SERVICE_HOST", "DB_SERVICE_HOSTX", "DB_SERVICE_HOST_",
	"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS",
	"KUBERNETES_PORT", "KUBERNETES_PORT_443_TCP", "KUBERNETES_PORT_443_TCP_PROTO",
	"KUBERNETES_PORT_443_TCP_PORT", "KUBERNETES_PORT_443_TCP_ADDR", "KUBERNETES_PORT_80_TCP",
	"KUBERNETES_SERVICE_PORT_HTTP", "KUBERNETES_", "HOSTNAME", "FOO", "", "Db_SERVICE_HOST",
	"DB.X_SERVICE_HOST", "DB_SERVICE_HOST=", "KUBERNETES_SERVICE_HOSTX", "XKUBERNETES_PORT",
	"_PORT_5_TCP_PROTO", "DB_PORT_12a_TCP", "DB_PORT_TCP", "DB__PORT_1_TCP", "PORT_1_TCP",
	"DB_PORT_1_TCP_ADDR_PORT", "DB_PORT_1_2_TCP", "DB_PORT__1_TCP_ADDR", "DB_PORT_1_TCPX_ADDR",
	"DB_PORT_1_XTCP", "DB_PORT_1_TCP_PROTOX", "DB_XPORT_1_TCP", "DB_PORT_1_UDP_ADDR",
]

env_values := [
	"10.96.0.1", "tcp://10.96.0.1:443", "[::1]:443", "", "a b", "x=y", "é", "a\nb", "a_b", "A-Z.z:/[]",
	"10.0.0.1\n", "=", "a,b", "a+b", "10.0.0.1\nA_PORT=1",
]

env_cases := array.concat(
	[concat("=", [n, v]) | some n in env_names; some v in env_values],
	[
		"HOSTNAME=web-7c9fd6b5d8-x2kqp", "HOSTNAME=web-7c9fd6b5d8-x2kq", "HOSTNAME=my.host",
		"HOSTNAME=myXhost", "HOSTNAME=db-0", "HOSTNAME=db-", "HOSTNAME=a", "HOSTNAME=b",
		"HOSTNAME=a|b", "HOSTNAME=web-7c9fd6b5d8-x2kqp\n", "HOSTNAME=^a", "HOSTNAME=c", "XHOSTNAME=db-0", "HOSTNAME",
		"FOO=abc", "FOO=", "FOO=ABC", "DB_PORT", "DB_PORT=", "=10.0.0.1",
	],
)

env_disagreements contains [r, v] if {
	some r in env_patterns
	some v in env_cases
	agent_policy.env_regex_match(r, v, agent_policy.env_name(v)) != regex.match(r, v)
}

test_env_shortcuts_decide_exactly_what_regex_match_decides if {
	count(env_disagreements) == 0
}

# Both outcomes occur for each shortcut (the table is not all misses).
test_env_table_has_matches_and_misses if {
	every r in array.slice(env_patterns, 0, 6) {
		some v in env_cases
		regex.match(r, v)
		some w in env_cases
		not regex.match(r, w)
	}
}

# Loopback addresses and MAC addresses by string operations, against the patterns they replace.
loopback_patterns := [`^0*127\.`, `^[0:]*:0{0,3}1$`, `^[0:]*:ffff:(0*127\.|0{0,2}7f[0-9a-f]{2}:)`, `^[0:]*:0\.0\.0\.1$`]

addresses := [
	"127.0.0.1", "0127.0.0.1", "00127.1", "127", "127x", "1127.0.0.1", "10.0.0.1", "", "1",
	"::1", "0::1", "00::001", "::0001", "::00001", "0:0:0:0:0:0:0:1", "::11", "::10", ":1", "1::1",
	"::", "::2", "0000:0000::0001", "::ffff:127.0.0.1", "::ffff:0127.0.0.1", "0::ffff:127.0.0.1",
	"1::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:07f00:1", "::ffff:007f00:1", "::ffff:0007f00:1",
	"::ffff:7f0:1", "::ffff:7f00", "::ffff:7fzz:1", "::ffff:8f00:1", "::ffff:10.0.0.1",
	"::ffff:ffff:127.0.0.1", ":ffff:127.0.0.1", "ffff:127.0.0.1", "::ffff::7f00:1",
	"::ffff:7f001:1", "fe80::1", "::1%lo", "::FFFF:7F00:1", "::FFFF:127.0.0.1", "0:0:0:0:0:0:0:1", "127.0.0.1/8", "127/8",
	"0/127.0.0.1", "::1/128", "0:0::1/64", "10.0.0.1/8", "::ffff:127.0.0.1/104", "::1/", "/::1",
	# ::1 with an embedded IPv4 tail (Rust's Ipv6Addr reads one in any IPv6 address), and near misses
	"::0.0.0.1", "0:0:0:0:0:0:0.0.0.1", "0::0.0.0.1", "::0.0.0.1/128", "0.0.0.1", "::0.0.0.2",
	"::1.0.0.1", "::ffff:0.0.0.1", "1::0.0.0.1", ":0.0.0.1", "::10.0.0.1", "::0.0.0.10",
]

# The agent parses addresses with Rust's std parsers, which read `::0.0.0.1` as `::1`.
test_ipv6_loopback_with_an_embedded_ipv4_tail_is_loopback if {
	every a in ["::0.0.0.1", "0:0:0:0:0:0:0.0.0.1", "::0:0.0.0.1", "::0.0.0.1/128"] {
		agent_policy.loopback_address(a)
	}
	not agent_policy.loopback_address("::0.0.0.2")
	not agent_policy.loopback_address("0.0.0.1")
}

test_loopback_by_value_decides_what_the_patterns_decide if {
	every a in addresses {
		loopback_address_ok(a) == any_loopback_pattern(lower(split(a, "/")[0]))
	}
}

loopback_address_ok(a) if agent_policy.loopback_address(a)

default loopback_address_ok(_) := false

any_loopback_pattern(a) if {
	some p in loopback_patterns
	regex.match(p, a)
}

default any_loopback_pattern(_) := false

macs := [
	"ca:26:d9:7d:7d:07", "CA:26:D9:7D:7D:07", "00:00:00:00:00:00", "00:00:00:00:00:01",
	"ca:26:d9:7d:7d", "ca:26:d9:7d:7d:07:00", "ca:26:d9:7d:7d:0", "ca:26:d9:7d:7d:007",
	"ca:26:d9:7d:7d7:0", "ca-26-d9-7d-7d-07", "ca:26:d9:7d:7d:0g", "ca:26:d9:7d::7d07", "",
	"ca:26:d9:7d:7d:07\n", " ca:26:d9:7d:7d:0",
	# against the JSON-escape decision: a part longer than two with five colons ("7d0zz" has four),
	# misplaced colons, quotes, backslashes and escapes in the text, non-ASCII digits, the escape
	# itself spelled out, a trailing or leading colon, empty parts
	"ca:26:d9:7d:7d0zz", "ca:26:d9:7d:7d0\"z", "c:a26:d9:7d:7d:07", "ca2:6:d9:7d:7d:07",
	"ca:26:d9:7d:7d:\"0", "ca:26:d9:7d:7d:0\"", "ca:26:d9:7d:7d:\\n", "ca:26:d9:7d:7d:\\\"",
	"\\u00ca:26:d9:7d:7d", "ca:26:d9:7d:7d:0\u0000", "ca:26:d9:7d:7d:٠٧", "ca:26:d9:7d:7d:ｆｆ",
	"ca:26:d9:7d:7d:0 ", ":ca:26:d9:7d:7d:0", "ca:26:d9:7d:7d:07:", "::::::::::::::::a",
	"ca:26:d9:7d:7d:\t0", "ca\"26:d9:7d:7d:07", "0A:bC:De:F0:12:3f", "ff:ff:ff:ff:ff:ff",
	"00:00:00:00:00:0O", "ca:26:d9:7d:7d:0x", "+1:26:d9:7d:7d:07", "ca:26:d9:7d:7d:-1",
	# four or three colons and as many more characters (the escaped text is 32 characters long)
	"ca:26:d9:7d:7d07zzzz", "ca:26:d9:7d7d07zzzzzzz",
	# a quote ending the JSON string early, a backslash escaping the next escape's backslash
	"ca12345\":::::aa:bb", "ca\\:z:d9:7d:7d:07", "ca:26:d9:7d:7d\\:z", "ca\":26:d9:7d:7d:0",
]

test_hardware_address_as_the_pattern_it_replaces if {
	every m in macs {
		hardware_address_ok(m) == all_of_mac_pattern(m)
	}
}

hardware_address_ok(m) if agent_policy.hardware_address_ok(m)

default hardware_address_ok(_) := false

all_of_mac_pattern(m) if {
	regex.match(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`, m)
	m != "00:00:00:00:00:00"
}

default all_of_mac_pattern(_) := false

# An unnamed variable is admitted exactly when regex.match admits it under one of the patterns,
# whether or not the service-link pattern is among them (and tried first): for the settings'
# order, the reverse order, and lists without the service-link or the Kubernetes pattern.
env_pattern_lists := [
	env_patterns,
	array.reverse(env_patterns),
	array.slice(env_patterns, 1, count(env_patterns)),
	[env_patterns[0], env_patterns[2]],
]

env_unnamed_disagreements contains [i, v] if {
	some i, patterns in env_pattern_lists
	some v in env_cases
	links := agent_policy.service_links_allowed(patterns)
	got := env_unnamed_ok_or_false(patterns, links, v)
	want := count([r | some r in patterns; regex.match(r, v)]) > 0
	got != want
}

env_unnamed_ok_or_false(patterns, links, v) if {
	agent_policy.env_unnamed_ok(patterns, links, v, agent_policy.env_name(v))
}

default env_unnamed_ok_or_false(_, _, _) := false

test_unnamed_variables_admitted_as_regex_match_admits_them if {
	count(env_unnamed_disagreements) == 0
}

# The same through the whole environment check of one variable the expectations do not name (its
# service-link shortcut included): admitted exactly when regex.match admits it under a pattern,
# with the settings' patterns and with the service-link pattern left out (the other orders of
# the test above change nothing here: the shortcut is taken only with service links admitted).
env_checked_disagreements contains [i, v] if {
	some i, patterns in [env_pattern_lists[0], env_pattern_lists[2]]
	some v in env_cases
	got := env_ok_or_false({"env": [], "env_regexes": patterns}, [v])
	want := count([r | some r in patterns; regex.match(r, v)]) > 0
	got != want
}

env_ok_or_false(e, env) if agent_policy.env_ok(e, env)

default env_ok_or_false(_, _) := false

test_unnamed_variables_in_the_environment_check_as_regex_match_admits_them if {
	count(env_checked_disagreements) == 0
}

# A shared file of the request's own container is decided by a shortcut (shared_shape_match):
# with the request's container ID set (the ID of a value below or another one), every pattern
# decides every value as regex.match does, the `$(cid)` patterns with their generate-time shapes
# too (pattern_shapes, the ID in place of cid_placeholder).
own_ids := [id_a, id_b, "gid", "g-i-d", "a.b", "..", concat("-", [hex16, "x"])]

shared_values := [v | some v in values; startswith(v, dir)]

own_id_disagreements contains [id, p, v] if {
	some id in own_ids
	some p in patterns
	startswith(p, "^/run/kata-containers/shared/")
	some v in shared_values
	pattern_match_with_own_id(p, v, id) != regex.match(p, v)
}

pattern_match_with_own_id(p, v, id) if agent_policy.pattern_match(p, v) with input as {"container_id": id}

default pattern_match_with_own_id(_, _, _) := false

cid_shared_patterns := {
	"^/run/kata-containers/shared/containers/$(cid)-[a-z0-9]{16}-hosts$": {"shared": agent_policy.cid_placeholder, "name": "hosts"},
	`^/run/kata-containers/shared/containers/$(cid)-[a-z0-9]{16}-termination\-log$`: {"shared": agent_policy.cid_placeholder, "name": "termination-log"},
}

own_cid_disagreements contains [id, p, v] if {
	some id in own_ids
	some p, _ in cid_shared_patterns
	some v in shared_values
	cid_match_with_own_id(p, v, id) != regex.match(agent_policy.with_cid(p, id), v)
}

cid_match_with_own_id(p, v, id) if {
	agent_policy.cid_pattern_match(p, id, v) with input as {"container_id": id}
		with data.agent_policy.policy_data as {"pattern_shapes": cid_shared_patterns}
}

default cid_match_with_own_id(_, _, _) := false

test_shared_files_of_the_own_container_as_regex_match if {
	count(own_id_disagreements) == 0
	count(own_cid_disagreements) == 0
	count(shared_values) > 40

	# the shortcut admits and refuses: the container's own files, another container's, a part of
	# 15 characters
	agent_policy.shared_shape_match({"shared": agent_policy.id_token, "name": "hosts"}, shared(id_a, hex16, "hosts")) with input as {"container_id": id_a}
	agent_policy.shared_shape_match({"shared": id_a, "name": "hosts"}, shared(id_a, hex16, "hosts")) with input as {"container_id": id_a}
	not agent_policy.shared_shape_match({"shared": id_a, "name": "hosts"}, shared(id_b, hex16, "hosts")) with input as {"container_id": id_b}
	not agent_policy.shared_shape_match({"shared": agent_policy.id_token, "name": "hosts"}, shared(id_a, "0123456789abcde", "hosts")) with input as {"container_id": id_a}
}

# The pod's name as the policy state recorded it (pstate.sandbox_name) under the pod's name
# pattern is admitted without working the pattern out (tail_or_pod_name_match); every other value,
# and every other pattern, is decided as regex.match decides it.
pod_name_pattern := "^web-[a-z0-9]{1,10}-[a-z0-9]{5}$"

recorded_pod_name := "web-7c9fd6b5d8-x2kqp"

recorded_name_match(pattern, value, recorded) if {
	agent_policy.pattern_match(pattern, value) with data.pstate as {"sandbox_name": recorded}
		with data.agent_policy.policy_data as {"pod": {"sandbox_name_regex": pod_name_pattern}}
}

default recorded_name_match(_, _, _) := false

test_the_recorded_pod_name_under_the_pod_name_pattern if {
	tail_patterns := [p | some p in array.concat(patterns, [pod_name_pattern, "^db-[0-9]+$"]); agent_policy.pattern_shape(p).tail]
	count(tail_patterns) > 3
	name_values := [v | some v in values; not startswith(v, "/")]
	every p in tail_patterns {
		every v in array.concat(name_values, [recorded_pod_name, "web-7c9fd6b5d8-x2kq", "web-abc-defgh"]) {
			recorded_name_match(p, v, recorded_pod_name) == regex.match(p, v)
		}
	}

	# the shortcut is taken: a recorded name is trusted as sandbox_name_ok trusts it (the rules
	# record only a name that matched the pattern), under that pattern only
	recorded_name_match(pod_name_pattern, "web-X", "web-X")
	not recorded_name_match("^db-[0-9]+$", "web-X", "web-X")
	not recorded_name_match(pod_name_pattern, "web-X", recorded_pod_name)
}
