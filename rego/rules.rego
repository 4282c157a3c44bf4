# contrast runtime policy rules for the Kata agent (package agent_policy).
#
# The Kata agent evaluates data.agent_policy.<RequestName> with the request (as the agent
# serialises it to JSON) as input. Every rule yields {"allowed": bool, "ops": [JSON-Patch]}; the
# agent applies "ops" of allowed requests to its data document, so state lives in data.pstate.
# The per-pod expectations come from data.agent_policy.policy_data, which the generated policy
# text defines after these rules (`policy_data := {...}`).
#
# Unknown requests are undefined and therefore denied by the agent.
package agent_policy

import rego.v1

pd := data.agent_policy.policy_data

default pstate := {}

pstate := data.pstate

denied := {"allowed": false, "ops": []}

# --- Requests that carry no data worth checking: allowed or denied by policy_data.requests ---

default AddSwapRequest := {"allowed": false, "ops": []}

AddSwapRequest := simple_result("AddSwapRequest")

default CloseStdinRequest := {"allowed": false, "ops": []}

CloseStdinRequest := simple_result("CloseStdinRequest")

default DestroySandboxRequest := {"allowed": false, "ops": []}

DestroySandboxRequest := simple_result("DestroySandboxRequest")

default GetIPTablesRequest := {"allowed": false, "ops": []}

GetIPTablesRequest := simple_result("GetIPTablesRequest")

default GetMetricsRequest := {"allowed": false, "ops": []}

GetMetricsRequest := simple_result("GetMetricsRequest")

default GetOOMEventRequest := {"allowed": false, "ops": []}

GetOOMEventRequest := simple_result("GetOOMEventRequest")

default GetVolumeStatsRequest := {"allowed": false, "ops": []}

GetVolumeStatsRequest := simple_result("GetVolumeStatsRequest")

default GuestDetailsRequest := {"allowed": false, "ops": []}

GuestDetailsRequest := simple_result("GuestDetailsRequest")

default ListInterfacesRequest := {"allowed": false, "ops": []}

ListInterfacesRequest := simple_result("ListInterfacesRequest")

default ListRoutesRequest := {"allowed": false, "ops": []}

ListRoutesRequest := simple_result("ListRoutesRequest")

default MemHotplugByProbeRequest := {"allowed": false, "ops": []}

MemHotplugByProbeRequest := simple_result("MemHotplugByProbeRequest")

default OnlineCPUMemRequest := {"allowed": false, "ops": []}

OnlineCPUMemRequest := simple_result("OnlineCPUMemRequest")

default PauseContainerRequest := {"allowed": false, "ops": []}

PauseContainerRequest := simple_result("PauseContainerRequest")

default PullImageRequest := {"allowed": false, "ops": []}

PullImageRequest := simple_result("PullImageRequest")

default ReadStreamRequest := {"allowed": false, "ops": []}

ReadStreamRequest := simple_result("ReadStreamRequest")

default RemoveStaleVirtiofsShareMountsRequest := {"allowed": false, "ops": []}

RemoveStaleVirtiofsShareMountsRequest := simple_result("RemoveStaleVirtiofsShareMountsRequest")

default ReseedRandomDevRequest := {"allowed": false, "ops": []}

ReseedRandomDevRequest := simple_result("ReseedRandomDevRequest")

default ResizeVolumeRequest := {"allowed": false, "ops": []}

ResizeVolumeRequest := simple_result("ResizeVolumeRequest")

default ResumeContainerRequest := {"allowed": false, "ops": []}

ResumeContainerRequest := simple_result("ResumeContainerRequest")

default SetGuestDateTimeRequest := {"allowed": false, "ops": []}

SetGuestDateTimeRequest := simple_result("SetGuestDateTimeRequest")

default SetIPTablesRequest := {"allowed": false, "ops": []}

SetIPTablesRequest := simple_result("SetIPTablesRequest")

default SignalProcessRequest := {"allowed": false, "ops": []}

SignalProcessRequest := simple_result("SignalProcessRequest")

default StartTracingRequest := {"allowed": false, "ops": []}

StartTracingRequest := simple_result("StartTracingRequest")

default StatsContainerRequest := {"allowed": false, "ops": []}

StatsContainerRequest := simple_result("StatsContainerRequest")

default StopTracingRequest := {"allowed": false, "ops": []}

StopTracingRequest := simple_result("StopTracingRequest")

default TtyWinResizeRequest := {"allowed": false, "ops": []}

TtyWinResizeRequest := simple_result("TtyWinResizeRequest")

default UpdateContainerRequest := {"allowed": false, "ops": []}

UpdateContainerRequest := simple_result("UpdateContainerRequest")

default UpdateEphemeralMountsRequest := {"allowed": false, "ops": []}

UpdateEphemeralMountsRequest := simple_result("UpdateEphemeralMountsRequest")

default WaitProcessRequest := {"allowed": false, "ops": []}

WaitProcessRequest := simple_result("WaitProcessRequest")

default WriteStreamRequest := {"allowed": false, "ops": []}

WriteStreamRequest := simple_result("WriteStreamRequest")

# Replacing the policy from the host would void every guarantee: never allowed.
default SetPolicyRequest := {"allowed": false, "ops": []}

simple_result(name) := {"allowed": true, "ops": []} if {
	object.get(pd, ["requests", name], false) == true
}

# --- Container lifecycle ---

default StartContainerRequest := {"allowed": false, "ops": []}

StartContainerRequest := {"allowed": true, "ops": []} if {
	object.get(pd, ["requests", "StartContainerRequest"], false) == true
	known_container(input.container_id)
}

default RemoveContainerRequest := {"allowed": false, "ops": []}

RemoveContainerRequest := {"allowed": true, "ops": [{"op": "remove", "path": concat("/", ["/pstate/containers", input.container_id])}]} if {
	known_container(input.container_id)
}

RemoveContainerRequest := {"allowed": true, "ops": []} if {
	not known_container(input.container_id)
}

known_container(cid) if {
	is_string(cid)
	_ = pstate.containers[cid]
}

# --- CreateSandbox ---

default CreateSandboxRequest := {"allowed": false, "ops": []}

CreateSandboxRequest := {"allowed": true, "ops": [{"op": "add", "path": "/pstate/sandbox_id", "value": input.sandbox_id}]} if {
	not pstate.sandbox_id
	sandbox_request_ok(input)
}

sandbox_request_ok(req) if {
	count(object.get(req, "kernel_modules", [])) == 0
	object.get(req, "guest_hook_path", "") == ""
	object.get(req, "guest_userns", false) == false
	object.get(req, "sandbox_pidns", false) == object.get(pd, ["pod", "sandbox_pidns"], false)
	is_string(req.sandbox_id)
	count(req.sandbox_id) <= 128
	lower_alphanumeric(req.sandbox_id)
	not req.sandbox_id in reserved_ids
	hostname_ok(object.get(req, "hostname", ""))
	sandbox_storages_ok(object.get(req, "storages", []))
}

# The sandbox's storages (the pod's /dev/shm tmpfs), or none, as genpolicy accepts: without it the
# containers' /dev/shm binds a plain directory of the guest (guest memory all the same, only
# without the size limit) or the containers fail to start; nothing reaches the host.
sandbox_storages_ok(storages) if storages_match(storages, pd.sandbox.storages, "")

sandbox_storages_ok(storages) if count(storages) == 0

hostname_ok(h) if h == ""

hostname_ok(h) if pattern_match(pd.pod.hostname_regex, h)

# --- CreateContainer ---

default CreateContainerRequest := {"allowed": false, "ops": []}

CreateContainerRequest := {"allowed": true, "ops": ops} if {
	candidates := [i | some i, c in pd.containers; container_ok(c, input)]
	count(candidates) > 0
	i := candidates[0]
	ops := create_container_ops(i, input)
}

create_container_ops(i, req) := array.concat(
	array.concat(sandbox_name_ops(req), block_device_ops(req)),
	[container_op(i, req)],
)

# The first container with a block-encrypted emptyDir fixes the pod's device (see
# block_storage_ok); later ones must use it.
block_device_ops(req) := [] if {
	pstate.block_device
} else := [{"op": "add", "path": "/pstate/block_device", "value": d}] if {
	some s in object.get(req, "storages", [])
	s.driver == "blk"
	d := s.source
} else := []

sandbox_name_ops(req) := [] if pstate.sandbox_name

sandbox_name_ops(req) := [{"op": "add", "path": "/pstate/sandbox_name", "value": oci_annotations(req)["io.kubernetes.cri.sandbox-name"]}] if {
	not pstate.sandbox_name
}

container_op(i, req) := {"op": "add", "path": concat("/", ["/pstate/containers", req.container_id]), "value": container_state(i, req)} if {
	pstate.containers
}

container_op(i, req) := {"op": "add", "path": "/pstate/containers", "value": {req.container_id: container_state(i, req)}} if {
	not pstate.containers
}

# What the policy remembers of a created container: its entry in the policy data and, for a GPU
# container, the GPUs it holds (its CDI annotation values), so that no other container of the pod
# is given one of them while it exists (RemoveContainer forgets them with the container).
container_state(i, _) := {"index": i} if gpus(pd.containers[i]) == 0

container_state(i, req) := {"index": i, "gpus": sort([v | some k, v in oci_annotations(req); cdi_vfio_key(k)])} if {
	gpus(pd.containers[i]) > 0
}

oci_annotations(req) := object.get(req.OCI, "Annotations", {})

linux(req) := object.get(req.OCI, "Linux", {})

container_ok(c, req) if {
	container_identity_ok(c, req)
	string_user_ok(c, object.get(req, "string_user", null))
	annotations_ok(c, req)
	process_ok(c, req.OCI.Process)
	root_ok(c, req)
	mounts_ok(c, req)
	storages_match(object.get(req, "storages", []), c.storages, req.container_id)
	block_mounts_ok(object.get(req.OCI, "Mounts", []), object.get(req, "storages", []))
	one_block_device(object.get(req, "storages", []))
	guest_pull_kind_ok(c, object.get(req, "storages", []))
	linux_ok(c, req)
	agent_devices_ok(c, object.get(req, "devices", []), oci_annotations(req))
	oci_devices_hotplugged(object.get(linux(req), "Devices", []), object.get(req, "devices", []))
	no_extras(req)
}

container_identity_ok(c, req) if {
	# The cheap comparisons that tell the pod's containers apart come first: the rules try every
	# container of the pod.
	a := oci_annotations(req)
	a["io.kubernetes.cri.container-type"] == cri_container_type(c)
	container_name_ok(c, a)
	is_string(req.container_id)
	kata_id(req.container_id)
	not req.container_id in reserved_ids
	not known_container(req.container_id)
	a["io.kubernetes.cri.sandbox-namespace"] == pd.pod.namespace
	sandbox_name_ok(a["io.kubernetes.cri.sandbox-name"])
	sandbox_id_ok(c, req, a)
	object.get(req, "sandbox_pidns", false) == c.sandbox_pidns
}

# Containers belong to the sandbox created before them; the pause container carries its ID, and
# only it: the agent keeps a container's bundle in /run/kata-containers/<container ID>/, so an app
# container under the sandbox's ID would hold the pause container's bundle directory (its image
# where the pause container's root goes) and keep the genuine pause container out while it runs.
# containerd gives every container its own ID.
sandbox_id_ok(c, req, a) if {
	is_string(pstate.sandbox_id)
	a["io.kubernetes.cri.sandbox-id"] == pstate.sandbox_id
	c.kind != "pause"
	req.container_id != pstate.sandbox_id
}

sandbox_id_ok(c, req, a) if {
	is_string(pstate.sandbox_id)
	a["io.kubernetes.cri.sandbox-id"] == pstate.sandbox_id
	c.kind == "pause"
	req.container_id == pstate.sandbox_id
}

# The agent may take the user from string_user instead of the OCI process: it must agree.
string_user_ok(_, null)

string_user_ok(c, su) if {
	su != null
	to_number(su.uid) == c.process.uid
	to_number(object.get(su, "gid", "0")) == c.process.gid
	allowed_gids := {g | some g in c.process.additional_gids} | {c.process.gid}
	every g in object.get(su, "additionalGids", []) {
		to_number(g) in allowed_gids
	}
}

cri_container_type(c) := "sandbox" if c.kind == "pause"

cri_container_type(c) := "container" if c.kind != "pause"

container_name_ok(c, a) if {
	c.kind == "pause"
	not a["io.kubernetes.cri.container-name"]
}

# The image name, when sent, is the pinned one. It may be missing (genpolicy accepts that too): the
# agent never reads it; the guest pulls the image the guest-pull storage names, which is checked.
container_name_ok(c, a) if {
	c.kind != "pause"
	a["io.kubernetes.cri.container-name"] == c.name
	object.get(a, "io.kubernetes.cri.image-name", c.image) == c.image
}

# The pod's sandbox name: the one the first container (the pause container) was created with,
# which matched the pod's name pattern then (the rules record it, in sandbox_name_ops, only for a
# container this check admitted: no need to match it again); before that, any name of the pattern.
sandbox_name_ok(name) if {
	pstate.sandbox_name == name
} else if {
	not pstate.sandbox_name
	pattern_match(pd.pod.sandbox_name_regex, name)
}

# Every annotation must be one the runtime sets, with a value of the expected form.
annotations_ok(c, req) if {
	a := oci_annotations(req)
	every key, value in a {
		annotation_ok(c, key, value)
	}
	vfio := {k: v | some k, v in a; cdi_vfio_key(k)}
	count(vfio) == gpus(c)

	# each GPU once: two annotations naming the same GPU index would give the container fewer GPUs
	# than its YAML asked for, or one GPU twice
	count({v | some _, v in vfio}) == gpus(c)
	gpus_unclaimed(c, a)
}

# A GPU another container of the pod holds (pstate) is not given again: two containers with
# `nvidia.com/gpu=0` would share one GPU, its memory and whatever the other container computes
# on it. A new instance of the same container (the same policy-data entry, i.e. the same name:
# a restart by the kubelet) may take over the GPUs its earlier instances still hold: the agent
# never hears RemoveContainer for an instance whose CreateContainer it allowed but then failed
# (Kata's Sandbox.CreateContainer rolls back only after the agent created it), and a restart must
# not be refused forever for that. The policy cannot tell a restart from a second instance; both
# run the same image, command and identity, so sharing the GPU with itself gives the host nothing
# it cannot get by running that container twice (README, GPUs through VFIO).
gpus_unclaimed(c, _) if gpus(c) == 0

gpus_unclaimed(c, a) if {
	gpus(c) > 0
	claimed := {g | some s in object.get(pstate, "containers", {}); not same_container(s, c); some g in object.get(s, "gpus", [])}
	every k, v in a {
		not gpu_claimed(k, v, claimed)
	}
}

# A remembered container (pstate entry) is an instance of policy-data container c: the pod's
# container names are unique, so the name of its entry identifies it.
same_container(s, c) if pd.containers[s.index].name == c.name

gpu_claimed(k, v, claimed) if {
	cdi_vfio_key(k)
	v in claimed
}

annotation_ok(c, key, value) if {
	is_string(value)
	allowed := object.get(c.annotations, key, null)
	is_string(allowed)
	pattern_match(allowed, value)
} else if {
	# GPUs passed through with VFIO (`nvidia.com/pgpu` limits): one CDI annotation per GPU,
	# `cdi.k8s.io/vfio<n>: nvidia.com/gpu=<index>` (Kata's captures, gpu_vfio_cdi).
	gpus(c) > 0
	cdi_vfio_key(key)
	is_string(value)
	regex.match(`^nvidia\.com/gpu=[0-9]+$`, value)
}

gpus(c) := object.get(c, "gpus", 0)

# `^cdi\.k8s\.io/vfio[0-9]+$`, the pattern built only for keys with that prefix.
cdi_vfio_key(key) if {
	startswith(key, "cdi.k8s.io/vfio")
	regex.match(`^cdi\.k8s\.io/vfio[0-9]+$`, key)
}

process_ok(c, p) if {
	e := c.process
	args_ok(e, p.Args)
	object.get(p, "Cwd", "") == e.cwd
	object.get(p, "Terminal", false) == e.terminal
	object.get(p, "NoNewPrivileges", false) == e.no_new_privileges
	user_ok(e, object.get(p, "User", {}))
	capabilities_equal(object.get(p, "Capabilities", null), e.capabilities)
	env := object.get(p, "Env", [])
	names := env_checked_names(e, env)
	count(names) == count(env)
	env_complete(e, names)
	object.get(p, "ApparmorProfile", "") in apparmor_profiles_allowed
	object.get(p, "SelinuxLabel", "") == ""
}

# No AppArmor profile, or containerd's default one (`cri-containerd.apparmor.d`, which containerd
# names when the node runs AppArmor): a profile confines, never widens, and `unconfined` stays
# denied.
apparmor_profiles_allowed := {"", "cri-containerd.apparmor.d"}

# Exact arguments, or per-argument patterns when an argument holds a value only known at run time
# (e.g. `$(POD_NAME)`).
args_ok(e, args) if {
	not e.arg_regexes
	args == e.args
}

args_ok(e, args) if {
	is_array(e.arg_regexes)
	is_array(args)
	count(args) == count(e.arg_regexes)
	every i, r in e.arg_regexes {
		pattern_match(r, args[i])
	}
}

user_ok(e, u) if {
	object.get(u, "UID", 0) == e.uid
	object.get(u, "GID", 0) == e.gid
	object.get(u, "Username", "") == ""
	allowed_gids := {g | some g in e.additional_gids} | {e.gid}
	every g in object.get(u, "AdditionalGids", []) {
		g in allowed_gids
	}
}

cap_sets := [["Bounding", "bounding"], ["Effective", "effective"], ["Inheritable", "inheritable"], ["Permitted", "permitted"], ["Ambient", "ambient"]]

# The same lists in the same order (what the runtime sends for the capabilities the policy data
# lists), or else the same sets.
# (The lists compared field by field, not through cap_sets: opa's wasm builds that constant and the
# pairs again in each evaluation. Then the sent lists sorted against the policy data's, which
# generate writes sorted: containerd sends its default capabilities in its own order, so the
# pause container, the initializer and the mesh sidecar got here, and sorting five short lists
# costs less than building ten sets (3.4% fewer steps per CreateContainer of the example app). The
# sets decide whatever that leaves: sorted lists that are equal are the same sets, and a list
# that is not an array is never sorted (regorus would abort on it).)
capabilities_equal(got, want) if {
	object.get(got, "Bounding", []) == want.bounding
	object.get(got, "Effective", []) == want.effective
	object.get(got, "Inheritable", []) == want.inheritable
	object.get(got, "Permitted", []) == want.permitted
	object.get(got, "Ambient", []) == want.ambient
} else if {
	sorted_equal(object.get(got, "Bounding", []), want.bounding)
	sorted_equal(object.get(got, "Effective", []), want.effective)
	sorted_equal(object.get(got, "Inheritable", []), want.inheritable)
	sorted_equal(object.get(got, "Permitted", []), want.permitted)
	sorted_equal(object.get(got, "Ambient", []), want.ambient)
} else if {
	every pair in cap_sets {
		as_set(capability_list(got, pair[0])) == as_set(want[pair[1]])
	}
}

sorted_equal(xs, sorted) if {
	is_array(xs)
	sort(xs) == sorted
}

capability_list(got, name) := object.get(object.get({"c": got}, "c", {}), name, [])

as_set(xs) := {x | some x in xs} if is_array(xs)

as_set(xs) := set() if xs == null

# The names of the variables of `env` that the expectations `e` admit, in one pass: when it has
# as many names as `env` has variables, every variable is admitted and no name is given twice
# (a variable that is not admitted has no name in it; a name given twice counts once).
env_checked_names(e, env) := names if {
	is_array(env)
	exact := {concat("=", [x.name, x.value]) | some x in e.env; x.value}
	named := {x.name | some x in e.env}
	links := service_links_allowed(e.env_regexes)
	svars := service_variables(env, exact, links)
	names := {name | some v in env; name := env_var_checked_name(e, exact, named, links, svars, v)}
}

# Whether service links are admitted and every variable without a literal expected value has a
# service variable's characters (service_variable), decided by one match over all of them, each
# ended by a newline (which neither of the pattern's classes holds), instead of one match per
# variable: a call of regex.match costs about a microsecond even with its program built. The
# newlines must be exactly those separators: a variable holding one of its own
# (`A_PORT=1<newline>B_PORT=2`, one variable A_PORT whose value holds a newline, `=` and `_`, which
# service_variable refuses) would otherwise read as two lines of the pattern.
default service_variables(_, _, _) := false

service_variables(env, exact, true) if {
	rest := [v | some v in env; not exact[v]]
	regex.match(`^(?:[A-Z0-9_]+=[0-9a-zA-Z.:/\[\]-]*\n)*$`, concat("", [concat("\n", rest), "\n"]))
	not contains(concat("", rest), "\n")
}

# Whether every variable of `env` is admitted and no name is given twice.
env_ok(e, env) if count(env_checked_names(e, env)) == count(env)

# The name of `v` when the expectations admit it, else undefined. A variable with a literal
# expected value is looked up first; then (most of a pod's variables: 7 per service in the
# namespace) a service link the expectations admit (`svars`: service links are admitted and `v`
# has a service variable's characters), decided here without the calls of the general case
# (env_name_ok, which admits it by the same test); then the general case. (env_name inlined:
# every call of a function costs an allocation in opa's wasm.)
env_var_checked_name(e, exact, named, links, svars, v) := substring(v, 0, indexof(v, "=")) if {
	exact[v]
} else := name if {
	svars == true
	name := substring(v, 0, indexof(v, "="))
	not named[name]
	service_link_var_name(name)
} else := name if {
	name := env_name(v)
	env_name_ok(e, named, links, v, name)
}

# Whether the expectations admit service links (settings.json's pattern among `env_regexes`),
# worked out once per request rather than for each variable.
default service_links_allowed(_) := false

service_links_allowed(patterns) if service_link_env_pattern in patterns

# Sets are indexed (`exact[v]`) rather than tested with `in`: opa's wasm runs `in` as a scan that
# hashes every element again, i.e. quadratic in the number of variables.
# A variable with a literal expected value is looked up in the set of them (`exact`); only a
# variable named in the expectations (`named`) is compared with them one by one (a match needs
# the name); a variable the expectations do not name may match one of `env_regexes`. A named one
# never may: the pod's own `DB_PORT=5432` must not become a host-chosen `DB_PORT=tcp://…` because
# the name also has a service link's shape (the kubelet lets the container's value win).
# (`name` is env_name(v), split off once.)
env_name_ok(e, named, links, v, name) if {
	named[name]
	env_var_named_ok(e, v)
} else if {
	not named[name]
	env_unnamed_ok(e.env_regexes, links, v, name)
}

# An unnamed variable matches one of `patterns`. Most of a pod's variables are service links (7
# per service in the namespace), so when `links` (service_links_allowed) that pattern is tried
# first, by its shortcut: the patterns are alternatives, so the order decides only the cost.
env_unnamed_ok(patterns, links, v, name) if {
	links == true
	service_link_env(v, name)
} else if {
	env_regexes_match(patterns, v, name)
}

# Whether some pattern of `patterns` matches `v`, trying them in order and stopping at the first
# match (the pod's HOSTNAME, then Kubernetes' own service variables, then service links).
# (`name` is env_name(v).)
env_regexes_match(patterns, v, name) if {
	env_regex_match(patterns[0], v, name)
} else if {
	env_regex_match(patterns[1], v, name)
} else if {
	env_regex_match(patterns[2], v, name)
} else if {
	some r in array.slice(patterns, 3, count(patterns))
	env_regex_match(r, v, name)
}

# The environment patterns of settings.json and the pod's `^HOSTNAME=<pod name>$` are decided by
# string operations (the service-link pattern's RE2 program costs ~90 µs to build in each
# evaluation, the Kubernetes one ~60 µs); any other pattern goes to regex.match. Each shortcut is
# checked against regex.match in rego/patterns_test.rego.
env_regex_match(r, v, name) := service_link_env(v, name) if {
	r == service_link_env_pattern
} else := kubernetes_env(v, name) if {
	r == kubernetes_env_pattern
} else := hostname_env(r, v) if {
	startswith(r, "^HOSTNAME=")
	not contains(r, "|")
	not anchor_inside(substring(r, 10, -1))
} else := regex.match(r, v)

# Whether a pattern's body holds a start anchor of its own (`^`, `\A`): re-anchoring the body on
# its own would then match what the whole pattern cannot (`^HOSTNAME=^a$` matches nothing, `^^a$`
# matches "a"), so such a pattern goes to regex.match.
anchor_inside(x) if contains(x, "^")

anchor_inside(x) if contains(x, `\A`)

service_link_env_pattern := `^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT|SERVICE_PORT_[A-Z0-9_]+|PORT|PORT_[0-9]+_(TCP|UDP|SCTP)|PORT_[0-9]+_(TCP|UDP|SCTP)_(PROTO|PORT|ADDR))=[0-9a-zA-Z.:/\[\]-]*$`

kubernetes_env_pattern := `^KUBERNETES_(SERVICE_HOST|SERVICE_PORT|SERVICE_PORT_HTTPS|PORT|PORT_443_TCP|PORT_443_TCP_PROTO|PORT_443_TCP_PORT|PORT_443_TCP_ADDR)=[0-9a-zA-Z.:/\[\]-]*$`

# Kubernetes' own service variables (constant arguments rather than a set, which opa's wasm would
# build anew for every variable it checks).
kubernetes_env_name("KUBERNETES_SERVICE_HOST")

kubernetes_env_name("KUBERNETES_SERVICE_PORT")

kubernetes_env_name("KUBERNETES_SERVICE_PORT_HTTPS")

kubernetes_env_name("KUBERNETES_PORT")

kubernetes_env_name("KUBERNETES_PORT_443_TCP")

kubernetes_env_name("KUBERNETES_PORT_443_TCP_PROTO")

kubernetes_env_name("KUBERNETES_PORT_443_TCP_PORT")

kubernetes_env_name("KUBERNETES_PORT_443_TCP_ADDR")

# `NAME=value` with an upper-case name (`[A-Z0-9_]+`) and a service-variable value
# (`[0-9a-zA-Z.:/\[\]-]*`): one `=`, as neither class holds it. (A regex here: its RE2 program is
# built once per evaluation, and trim with these classes as cutsets measured 2x slower.)
service_variable(v) if regex.match(`^[A-Z0-9_]+=[0-9a-zA-Z.:/\[\]-]*$`, v)

default kubernetes_env(_, _) := false

kubernetes_env(v, name) if {
	startswith(name, "KUBERNETES_")
	kubernetes_env_name(name)
	service_variable(v)
}

default service_link_env(_, _) := false

# (The name first: most variables that get here are the pod's HOSTNAME, which no service link's
# name is; its refusal then builds no RE2 program for the characters.)
service_link_env(v, name) if {
	service_link_var_name(name)
	service_variable(v)
}

# A service link's name (service_variable admitted its characters). A service's variables by their
# suffix: `_SERVICE_HOST`, `_PORT` (which `_SERVICE_PORT` and `_PORT_<n>_TCP_PORT` end with: a
# `<prefix>_PORT` all the same), and `_PORT_<n>_TCP`, `_PORT_<n>_TCP_ADDR`, `_PORT_<n>_TCP_PROTO`
# (the prefix before a suffix is not empty exactly when the name is longer than the suffix); every
# other name (UDP, SCTP, named service ports) by its `_`-separated parts. Each suffix test only
# admits names the pattern admits; the parts decide the rest exactly.
service_link_var_name(name) if {
	endswith(name, "_SERVICE_HOST")
	name != "_SERVICE_HOST"
} else if {
	endswith(name, "_PORT")
	name != "_PORT"
} else if {
	endswith(name, "_TCP")
	port_number_name(trim_suffix(name, "_TCP"))
} else if {
	endswith(name, "_TCP_ADDR")
	port_number_name(trim_suffix(name, "_TCP_ADDR"))
} else if {
	endswith(name, "_TCP_PROTO")
	port_number_name(trim_suffix(name, "_TCP_PROTO"))
} else if {
	parts := split(name, "_")
	service_link_name(parts, array.reverse(parts))
}

# `<prefix>_PORT_<digits>` with a non-empty prefix: without its trailing digits (at least one) it
# ends with `_PORT_` and is longer than that.
port_number_name(x) if {
	y := trim_right(x, "0123456789")
	y != x
	endswith(y, "_PORT_")
	y != "_PORT_"
}

# `<prefix>_SERVICE_HOST`, `_SERVICE_PORT`, `_SERVICE_PORT_<name>`, `_PORT`,
# `_PORT_<number>_<protocol>` or `_PORT_<number>_<protocol>_(PROTO|PORT|ADDR)` with a non-empty
# prefix, read from the name's `_`-separated parts (numbers and protocols hold no `_`). The suffix
# is read from `rev` (the parts reversed) at constant indices: opa's wasm does arithmetic such as
# `n - 2` in arbitrary precision (libmpdec), which cost 8% of an app container's CreateContainer.
service_link_name(parts, rev) if {
	rev[1] == "SERVICE"
	service_host_or_port(rev[0])
	non_empty_prefix(rev, 2, 3)
} else if {
	rev[0] == "PORT"
	non_empty_prefix(rev, 1, 2)
} else if {
	service_protocol(rev[0])
	rev[2] == "PORT"
	name_digits(rev[1])
	non_empty_prefix(rev, 3, 4)
} else if {
	service_port_field(rev[0])
	service_protocol(rev[1])
	rev[3] == "PORT"
	name_digits(rev[2])
	non_empty_prefix(rev, 4, 5)
} else if {
	n := count(parts)
	some j, p in parts
	p == "SERVICE"
	parts[j + 1] == "PORT"
	non_empty_join(parts, 0, j)
	non_empty_join(parts, j + 2, n)
}

# Whether the parts before the last `m` (`rev` is the parts reversed; `m1` is m + 1, given rather
# than computed) joined with `_` are not empty: two or more parts, or one that is not empty.
non_empty_prefix(rev, m, m1) if {
	rev[m1]
} else if {
	rev[m] != ""
}

# (Constant arguments rather than sets: opa's wasm builds a set literal in each evaluation.)
service_host_or_port("HOST")

service_host_or_port("PORT")

service_protocol("TCP")

service_protocol("UDP")

service_protocol("SCTP")

service_port_field("PROTO")

service_port_field("PORT")

service_port_field("ADDR")

# A part of a name service_variable admitted (`[A-Z0-9]*`) is `[0-9]+` when it is not empty and
# has no letter, i.e. lower-casing leaves it as it is (no pattern to build in each evaluation).
name_digits(part) if {
	part != ""
	lower(part) == part
}

# Whether parts[from:to] joined with `_` is not empty.
non_empty_join(parts, from, to) if {
	to - from >= 2
} else if {
	to - from == 1
	parts[from] != ""
}

# `^HOSTNAME=<X>$` with no `|` in X (so the anchors bind all of X): `HOSTNAME=` and then what
# `^<X>$` matches, which is the pod's name pattern (pattern_match decides it by its shape).
default hostname_env(_, _) := false

hostname_env(r, v) if {
	startswith(v, "HOSTNAME=")
	pattern_match(concat("", ["^", substring(r, 10, -1)]), substring(v, 9, -1))
}

# The text before the first `=` (all of `v` without one): `substring` with a negative length
# takes the rest, and indexof gives -1 without a match.
env_name(v) := substring(v, 0, indexof(v, "="))

# Every expected variable is present: dropping one (say a `REQUIRE_TLS=true`) can change what the
# workload does as much as changing it.
env_complete(e, names) if {
	every x in e.env {
		names[x.name]
	}
}

env_var_named_ok(e, v) if {
	some x in e.env
	x.regex
	startswith(v, concat("", [x.name, "="]))
	pattern_match(x.regex, substring(v, count(x.name) + 1, -1))
}

# Values from Kubernetes Secrets are not published in the policy, and the agent's engine (regorus
# as Kata builds it) has no hash builtin: the variable must be present, its value is not
# constrained (README, limits).
env_var_named_ok(e, v) if {
	some x in e.env
	x.secret == true
	startswith(v, concat("", [x.name, "="]))
}

root_ok(c, req) if {
	root := object.get(req.OCI, "Root", {})
	object.get(root, "Readonly", false) == c.readonly_root
	cid_pattern_match(c.root_path_regex, req.container_id, object.get(root, "Path", ""))
}

# The container's own ID in a pattern; `.` (the only RE2 metacharacter an ID may hold) escaped.
with_cid(pattern, cid) := replace(pattern, "$(cid)", replace(cid, ".", `\.`)) if {
	contains(pattern, "$(cid)")
} else := pattern

# Whether `value` matches `pattern` with the container ID `cid` in place of `$(cid)`. A pattern
# without `$(cid)` is matched as it is; for one with it, the policy data's pattern_shapes carries
# the shape worked out with cid_placeholder in place of the ID (policy/pattern_shapes.ts), and the
# ID goes into the shape's text fields; without such a shape, into the pattern.
cid_pattern_match(pattern, cid, value) if {
	not contains(pattern, "$(cid)")
	pattern_match(pattern, value)
} else if {
	shape := cid_pattern_shape(pattern)
	shape_match({k: cid_in(v, cid) | some k, v in shape}, pattern, value)
} else if {
	contains(pattern, "$(cid)")
	not cid_pattern_shape(pattern)
	pattern_match(with_cid(pattern, cid), value)
}

# The generate-time shape of a `$(cid)` pattern, never the regex fallback (that needs the ID in
# the pattern).
cid_pattern_shape(pattern) := shape if {
	contains(pattern, "$(cid)")
	shape := pattern_shapes[pattern]
	not shape.regex
}

# Stands for the container ID in the shapes of `$(cid)` patterns: literal text and an ID as Kata
# accepts it, so the shape is the one of the pattern with any ID in place.
cid_placeholder := "CONTAINERID"

cid_in(v, cid) := replace(v, cid_placeholder, cid) if {
	is_string(v)
} else := v

# --- Patterns ---
#
# opa's WebAssembly build compiles every distinct pattern anew in each evaluation, and RE2 programs
# with counted repetitions such as `[a-z0-9]{16}` or alternations are costly to build and run:
# they were most of the time of a CreateContainer request. The shapes below are decided exactly
# without them; every other pattern goes to regex.match. Character classes are checked with small
# constant patterns (one build per evaluation, then a few steps per match): `trim` with a long
# cutset costs steps per character times cutset member. Every builtin call and every body of a
# function costs about as much as a short match, so the hot paths avoid repeated work: literal
# patterns compare directly, mounts pair by destination, variables with fixed values are looked
# up in a set.

# A container ID in patterns: Kata's own rule (kata-sys-util `verify_id`, which the agent applies
# too): an ASCII letter or digit, then one or more letters, digits, `_`, `.` or `-`. containerd's
# 64 hex characters are one case; an ID is never empty, `.`, `..` nor holds `/`, so the bundle,
# root and share paths built from it stay one path element below their directory.
id_token := "[A-Za-z0-9][A-Za-z0-9_.-]+"

# IDs that name a directory the agent itself uses below /run/kata-containers, where it puts a
# container's bundle (`<id>/config.json`, `<id>/rootfs`): `shared` (the host share, initdata),
# `sandbox` (the sandbox's resolv.conf, shm and guest-pulled layers), `image` (the image store),
# `virtual-volumes`, `swap`. Such an ID would put the container's bundle and root filesystem into
# that directory and its cleanup there; kata_id admits them, containerd never sends them.
reserved_ids := {"shared", "sandbox", "image", "virtual-volumes", "swap"}

# `^[A-Za-z0-9][A-Za-z0-9_.-]+$` ({@link id_token}). Most values a CreateContainer request checks
# are the request's own container ID (the bundle path, the container's shared files) or the pod's
# sandbox ID (its annotation): the first is decided once per evaluation (input_container_id_ok,
# a rule without arguments, which opa's wasm evaluates once), the second by its length, as the
# policy state holds only a sandbox ID CreateSandbox admitted (lower-case alphanumeric, which is
# an ID of this pattern from two characters on; as sandbox_name_ok trusts the name it recorded).
# Any other value goes to the pattern. In a CreateContainer of the example app no value does, so
# no RE2 program is built for it (one per evaluation cost ~4% of the request with
# lower_alphanumeric's, README, issue 18's fourth round).
kata_id(text) if {
	text == input.container_id
	input_container_id_ok
} else if {
	text == pstate.sandbox_id
	count(text) >= 2
} else if regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`, text)

# The request's container ID is a kata_id: its characters by one trim (the frequent ones first in
# the cutset), the first one not `_`, `.` or `-`, at least two.
input_container_id_ok if {
	id := input.container_id
	is_string(id)
	count(id) >= 2
	trim_left(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") == ""
	not startswith(id, "_")
	not startswith(id, ".")
	not startswith(id, "-")
}

# `^[a-z0-9]+$`, by trim: the values are short (a shared file's 16 characters, a pod name's 5, a
# sandbox ID), and a handful per request cost less than building the RE2 program.
lower_alphanumeric(text) if {
	text != ""
	trim_left(text, "0123456789abcdefghijklmnopqrstuvwxyz") == ""
}

# Literal pattern text: characters that are not RE2 metacharacters (nor backslash), or a backslash
# escaping a metacharacter, `/` or `-`. Removing the backslashes yields the text it matches.
literal_text_pattern := `^(?:[A-Za-z0-9_,:;@=/ %~-]|\\[.+*?()|\[\]{}^$/-])*$`

unescape_literal(text) := replace(text, `\`, "")

# Whether `value` matches the anchored RE2 `pattern` from the policy data. The shape of the pattern
# is worked out once; a pattern of no known shape goes to regex.match.
#
# opa's WebAssembly planner evaluates every body of a function (a conflict check), so alternatives
# that exclude each other are chained with `else`: the later ones run only when the earlier ones
# are undefined.
#
# A shape the policy data carries (pattern_shapes, worked out at generate time) decides at once;
# without one, a literal pattern is compared directly and any other worked out.
pattern_match(pattern, value) if {
	given_shape_match(object.get(pattern_shapes, pattern, null), pattern, value)
}

default pattern_shapes := {}

pattern_shapes := pd.pattern_shapes

given_shape_match(null, pattern, value) if {
	literal_match(pattern, value)
} else if {
	shaped_match(pattern, value)
}

given_shape_match(shape, pattern, value) if {
	shape != null
	shape_match(shape, pattern, value)
}

# Whether `value` matches `pattern`, by the pattern's shape (where a literal pattern is rare, or
# most pairs do not match: there the literal comparison would only add work).
shaped_match(pattern, value) if shape_match(pattern_shape(pattern), pattern, value)

# `pattern` is `^<literal text>$` whose text is `value`: one comparison on the way to a mismatch,
# and on a match one test against a constant pattern (which opa's WebAssembly build compiles once
# per evaluation, unlike a pattern from the policy data). Without a backslash the pattern is the
# value between anchors, and the value must hold no metacharacter; with one, the unescaped pattern
# is, and the pattern must be literal text.
literal_match(pattern, value) if {
	pattern == concat("", ["^", value, "$"])
	regex.match(`^[A-Za-z0-9_,:;@=/ %~-]*$`, value)
} else if {
	contains(pattern, `\`)
	replace(pattern, `\`, "") == concat("", ["^", value, "$"])
	startswith(pattern, "^")
	endswith(pattern, "$")
	regex.match(literal_text_pattern, substring(pattern, 1, count(pattern) - 2))
}

# The shape of `pattern`: the first that applies, else regex.match. Shapes are decided exactly by
# string operations and a few constant character-class patterns, each checked against regex.match
# in rego/patterns_test.rego.
pattern_shape(pattern) := shape if {
	# worked out at generate time (policy/pattern_shapes.ts, the same decisions as below)
	shape := pattern_shapes[pattern]
} else := {"literal": text} if {
	text := literal_pattern_text(pattern)
} else := shape if {
	shape := tail_shape(pattern)
} else := shape if {
	shape := id_shape(pattern)
} else := {"uuid": true} if {
	pattern == uuid_pattern
} else := shape if {
	shape := shared_file_shape(pattern)
} else := {"shared_tree": true} if {
	pattern == shared_tree_pattern
} else := shape if {
	shape := shared_names_shape(pattern)
} else := {"log_dir": true} if {
	pattern == log_dir_pattern
} else := {"image_ref": true} if {
	pattern == image_ref_pattern
} else := {"regex": true}

# `^<literal text>$`: the text it matches (without a backslash, text of the one-class constant
# pattern literal_match uses; with one, literal_text_pattern).
literal_pattern_text(pattern) := inner if {
	startswith(pattern, "^")
	endswith(pattern, "$")
	inner := substring(pattern, 1, count(pattern) - 2)
	not contains(inner, `\`)
	regex.match(`^[A-Za-z0-9_,:;@=/ %~-]*$`, inner)
} else := unescape_literal(inner) if {
	startswith(pattern, "^")
	endswith(pattern, "$")
	inner := substring(pattern, 1, count(pattern) - 2)
	contains(inner, `\`)
	regex.match(literal_text_pattern, inner)
}

# Whether `value` matches a pattern of shape `shape`: one else-chain, the frequent shapes first
# (opa's wasm would otherwise evaluate the body of every shape for every pattern).
shape_match(shape, pattern, value) if {
	is_string(shape.literal)
	value == shape.literal
} else if {
	shape.tail
	tail_or_pod_name_match(shape, pattern, value)
} else if {
	shape.shared
	shared_shape_match(shape, value)
} else if {
	shape.id
	id_shape_match(shape, value)
} else if {
	shape.uuid
	uuid_shape_match(value)
} else if {
	shape.log_dir
	log_dir_shape_match(value)
} else if {
	shape.shared_names
	shared_names_shape_match(shape, value)
} else if {
	shape.shared_tree
	shared_tree_shape_match(value)
} else if {
	shape.image_ref
	image_ref_match(value)
} else if {
	shape.regex
	regex.match(pattern, value)
}

# `^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`: a pod UID.
uuid_pattern := "^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$"

# 36 characters of `[a-f0-9-]` with `-` exactly at 8, 13, 18 and 23 (and nowhere else: five
# parts); substrings at constant offsets rather than a list of the parts' lengths.
uuid_shape_match(value) if {
	count(value) == 36
	substring(value, 8, 1) == "-"
	substring(value, 13, 1) == "-"
	substring(value, 18, 1) == "-"
	substring(value, 23, 1) == "-"
	count(split(value, "-")) == 5
	hex_or_dashes(value)
}

# Classes of one pattern each, checked by trim with a short cutset (the frequent characters first):
# for a value or two per evaluation, that costs less than building the RE2 program
# (`^[a-f0-9-]+$` 4.4 µs against 2.0 µs on a pod UID, `^[a-z0-9.-]+$` 4.5 against 2.4 µs on a
# log directory's names, opa's wasm alone). Patterns used for many values per evaluation (kata_id,
# lower_alphanumeric) stay patterns: after the first match each costs ~0.5 µs, trim ~3 µs on an ID.
# `^[a-f0-9-]+$` for a value known not to be empty.
hex_or_dashes(value) if trim(value, "0123456789abcdef-") == ""

# `^[a-z0-9.-]+$` for a value known not to be empty.
dns_characters(value) if trim(value, "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""

shared_dir_pattern := "^/run/kata-containers/shared/containers/"

shared_dir := "/run/kata-containers/shared/containers/"

# `^<literal><id_token>$` (the literal may be empty).
id_shape(pattern) := {"prefix": unescape_literal(prefix), "id": true} if {
	endswith(pattern, concat("", [id_token, "$"]))
	startswith(pattern, "^")
	prefix := substring(pattern, 1, (count(pattern) - count(id_token)) - 2)
	regex.match(literal_text_pattern, prefix)
}

# A shared file: `^/run/kata-containers/shared/containers/<id_token>-[a-z0-9]{16}-<literal>$`,
# or with a literal ID in place of the token (the container's own files, after `$(cid)`).
shared_file_shape(pattern) := {"shared": unescape_literal(id), "name": unescape_literal(name)} if {
	startswith(pattern, shared_dir_pattern)
	endswith(pattern, "$")
	rest := substring(pattern, count(shared_dir_pattern), -1)
	id := shared_id_part(rest)
	after := substring(rest, count(id) + 1, -1)
	startswith(after, "[a-z0-9]{16}-")
	name := substring(after, 13, count(after) - 14)
	name != ""
	regex.match(literal_text_pattern, name)
}

# The ID part of a shared file pattern: the token (any ID) or a literal ID, then `-`.
shared_id_part(rest) := id_token if startswith(rest, concat("", [id_token, "-"]))

shared_id_part(rest) := id if {
	not startswith(rest, concat("", [id_token, "-"]))
	at := indexof(rest, "-[a-z0-9]{16}-")
	at > 0
	id := substring(rest, 0, at)
	regex.match(literal_text_pattern, id)
	kata_id(unescape_literal(id))
}

id_shape_match(shape, value) if {
	startswith(value, shape.prefix)
	kata_id(substring(value, count(shape.prefix), -1))
}

# Every way to read a shared file's name (below shared_dir) as `<id>-<16 lower alphanumerics>-
# <rest>`, as the regex would try them: an ID may hold `-`, the 16 characters never do.
shared_splits(element) := {[id, rest] |
	parts := split(element, "-")
	some j, hex in parts
	j > 0
	j < count(parts) - 1
	count(hex) == 16
	lower_alphanumeric(hex)
	id := concat("-", array.slice(parts, 0, j))
	rest := concat("-", array.slice(parts, j + 1, count(parts)))
}

# shared_dir (39 characters), the ID, `-`, 16 characters, `-`, the name. With the name given,
# there is one way to read it: the name is the end after its `-`, and the 16 characters (which
# hold no `-`) are the last `-`-separated part of the rest, the ID all before them. (No
# arithmetic on lengths: opa's wasm computes it in arbitrary precision.)
shared_shape_match(shape, value) if {
	# The common case, a file of the request's own container (`<shared_dir><its ID>-<16
	# characters>-<name>`, the ID a kata_id by input_container_id_ok): a prefix, 16 characters and
	# a comparison, where the general case below splits the ID off by `-` and matches it again.
	own_container_shared(shape.shared)
	rest := trim_prefix(value, concat("", [shared_dir, input.container_id, "-"]))
	rest != value
	hex := substring(rest, 0, 16)
	rest == concat("", [hex, "-", shape.name])
	count(hex) == 16
	lower_alphanumeric(hex)
} else if {
	startswith(value, shared_dir)
	element := substring(value, 39, -1)
	tail := concat("", ["-", shape.name])
	endswith(element, tail)
	head := trim_suffix(element, tail)
	rev := array.reverse(split(head, "-"))
	hex := rev[0]
	rev[1]
	count(hex) == 16
	lower_alphanumeric(hex)
	shared_id_matches(shape.shared, trim_suffix(head, concat("", ["-", hex])))
}

# Whether the shape's ID part (`expected`, as shared_id_matches reads it) admits the request's
# own container ID.
own_container_shared(expected) if {
	expected == id_token
	input_container_id_ok
} else if {
	expected == input.container_id
}

# A file tree below a share, any container (settings.json copy_file):
# `^<shared_dir><id_token>-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`.
shared_tree_pattern := concat("", [shared_dir_pattern, id_token, `-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`])

shared_tree_shape_match(value) if {
	startswith(value, shared_dir)
	parts := split(substring(value, 39, -1), "/")
	some s in shared_splits(parts[0])
	kata_id(s[0])
	regex.match(`^[A-Za-z0-9.-]+$`, s[1])
	every part in array.slice(parts, 1, count(parts)) {
		regex.match(`^[A-Za-z0-9._-]+$`, part)
	}
}

# One of several literal names in a share, any container:
# `^<shared_dir><id_token>-[a-z0-9]{16}-(<literal>|<literal>…)$`.
shared_names_prefix := concat("", [shared_dir_pattern, id_token, `-[a-z0-9]{16}-(`])

shared_names_shape(pattern) := {"shared_names": names} if {
	startswith(pattern, shared_names_prefix)
	endswith(pattern, ")$")
	alternatives := substring(pattern, count(shared_names_prefix), (count(pattern) - count(shared_names_prefix)) - 2)
	parts := split(alternatives, "|")
	every part in parts {
		part != ""
		regex.match(literal_text_pattern, part)
	}
	names := {unescape_literal(part) | some part in parts}
}

shared_names_shape_match(shape, value) if {
	startswith(value, shared_dir)
	some s in shared_splits(substring(value, 39, -1))
	kata_id(s[0])
	s[1] in shape.shared_names
}

# `^<literal><tail>$` for the variable tails of generated names and numbers (pod names of
# Deployments, ReplicaSets, Jobs, CronJobs and generateName pods, StatefulSet ordinals, sizes) and
# any rest of a line (`image_guest_pull=.*`): their RE2
# programs (counted repetitions) cost up to ~50 µs to build in each evaluation (a CronJob's pod
# name pattern ~40–120 µs, measured in one evaluation of it alone).
# The sixth is a UUID after a literal prefix (`nerdctl/network-namespace`'s
# `^/var/run/netns/cni-<UUID>$`, a pattern with counted repetitions whose RE2 program cost 15% of
# the pause container's CreateContainer); a UUID alone keeps its own shape (`uuid`).
name_tails := [
	"[a-z0-9]{1,10}-[a-z0-9]{5}", "[a-z0-9]{5}", "[0-9]+", "-?[0-9]+", ".*",
	"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
	"[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}", "([0-9]+-)?[a-z0-9]{5}",
]

tail_shape(pattern) := {"prefix": unescape_literal(prefix), "tail": tail} if {
	startswith(pattern, "^")
	some tail in name_tails
	endswith(pattern, concat("", [tail, "$"]))
	prefix := substring(pattern, 1, (count(pattern) - count(tail)) - 2)
	regex.match(literal_text_pattern, prefix)
	tail_after(tail, prefix)
}

# A UUID tail needs a prefix (`^<UUID>$` is the `uuid` shape); the other tails take any.
tail_after(tail, _) if tail != name_tails[5]

tail_after(tail, prefix) if {
	tail == name_tails[5]
	prefix != ""
}

# The pod's name, as its sandbox was created with it (pstate.sandbox_name), against the pod's name
# pattern: a match without working it out again. The rules record that name only for a container
# whose sandbox-name annotation matched pd.pod.sandbox_name_regex (sandbox_name_ok, as it trusts
# the recorded name itself); after the pause container each container sends it three times (its
# sandbox-name annotation, HOSTNAME variable and OCI hostname), each a generated-name tail.
tail_or_pod_name_match(shape, pattern, value) if {
	value == pstate.sandbox_name
	pattern == pd.pod.sandbox_name_regex
} else if {
	tail_shape_match(shape, value)
}

tail_shape_match(shape, value) if {
	startswith(value, shape.prefix)
	tail_match(shape.tail, substring(value, count(shape.prefix), -1))
}

tail_match("[a-z0-9]{1,10}-[a-z0-9]{5}", rest) if {
	parts := split(rest, "-")
	count(parts) == 2
	count(parts[0]) >= 1
	count(parts[0]) <= 10
	count(parts[1]) == 5
	lower_alphanumeric(concat("", parts))
}

tail_match("[a-z0-9]{5}", rest) if {
	count(rest) == 5
	lower_alphanumeric(rest)
}

tail_match("[0-9]+", rest) if digits(rest)

tail_match("-?[0-9]+", rest) if digits(trim_prefix(rest, "-"))

# `.` is any character but a newline.
tail_match(".*", rest) if not contains(rest, "\n")

tail_match("[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", rest) if uuid_shape_match(rest)

# A CronJob's pod: the Job's scheduled minute (1 to 11 digits), an Indexed Job's completion index
# (digits) or none, then the pod's 5 characters. `-` is in none of the parts, so they are the
# `-`-separated parts; lower_alphanumeric admits their characters, and of those a part is digits
# exactly when upper-casing leaves it as it is.
tail_match("[0-9]{1,11}-([0-9]+-)?[a-z0-9]{5}", rest) if {
	parts := split(rest, "-")
	count(parts) in {2, 3}
	lower_alphanumeric(concat("", parts))
	count(parts[0]) <= 11
	every p in array.slice(parts, 0, count(parts) - 1) {
		p != ""
		upper(p) == p
	}
	count(parts[count(parts) - 1]) == 5
}

# A Job's pod: an Indexed Job's completion index (digits) or none, then the pod's 5 characters.
tail_match("([0-9]+-)?[a-z0-9]{5}", rest) if {
	parts := split(rest, "-")
	count(parts) in {1, 2}
	lower_alphanumeric(concat("", parts))
	every p in array.slice(parts, 0, count(parts) - 1) {
		p != ""
		upper(p) == p
	}
	count(parts[count(parts) - 1]) == 5
}

# `^[0-9]+$`, by trim (numbers are short; the policy data's number patterns have their shape).
digits(text) if {
	text != ""
	trim(text, "0123456789") == ""
}

# The pod log directory containerd names (settings.json):
# `/var/log/pods/<namespace>_<pod name>_<pod UID>`.
log_dir_pattern := "^/var/log/pods/[a-z0-9.-]+_[a-z0-9.-]+_[a-f0-9-]{36}$"

log_dir_shape_match(value) if {
	startswith(value, "/var/log/pods/")
	parts := split(substring(value, 14, -1), "_")
	count(parts) == 3
	parts[0] != ""
	parts[1] != ""
	dns_characters(concat(".", [parts[0], parts[1]]))
	count(parts[2]) == 36
	hex_or_dashes(parts[2])
}

# The pause image's name containerd sends (settings.json, the annotation
# `io.kubernetes.cri.podsandbox.image-name` of the pause container): a letter or digit, then
# letters, digits and `._/:@-`. Decided by one trim of the name (a few dozen characters) with the
# frequent characters first in the cutset instead of the pattern's RE2 program, built in each
# evaluation: the pause container's CreateContainer takes 0.95x without it (one-shot, the same
# rules with the policy data's shape `regex` and this one, issue 18's sixth round).
image_ref_pattern := "^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"

image_ref_match(value) if {
	value != ""
	trim_left(value, "abcdefghijklmnopqrstuvwxyz0123456789./:-@_ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
	not contains("._/:@-", substring(value, 0, 1))
}

shared_id_matches(expected, id) if {
	expected == id_token
	kata_id(id)
}

shared_id_matches(expected, id) if {
	expected != id_token
	id == expected
}

mounts_ok(c, req) if {
	mounts := object.get(req.OCI, "Mounts", [])
	count(mounts) == count(c.mounts)
	mounts_paired(c.mounts, mounts, req.container_id)
	mounts_in_order(c, mounts)
}

# Fewer mounts than expected: each one sent is the one expected at its destination, and only
# `optional` ones are missing. Optional are the mounts whose content the host provides anyway (the
# shared /etc/hosts, /etc/hostname, /etc/resolv.conf, termination log, service account token,
# configMap/secret/projected/downwardAPI, persistent volume and image VOLUME shares) and the kernel
# filesystems (/proc, /sys, /sys/fs/cgroup, /dev/pts, /dev/mqueue): without one the container sees
# what its pinned image holds at that path, which gives the host nothing it could not put into
# the share itself (genpolicy accepts any subset of the expected mounts). Never optional: the
# guest's own data (/dev, /dev/shm, emptyDirs): dropping one separates what the YAML joins (the
# app no longer sees the certificates and workload secret the Initializer wrote there and runs on
# what its image holds at that path instead, like a dropped variable), and with host pull the
# writes land in the host's share.
mounts_ok(c, req) if {
	mounts := object.get(req.OCI, "Mounts", [])
	count(mounts) < count(c.mounts)
	mounts_subset(c.mounts, mounts, req.container_id)
	mounts_in_order(c, mounts)
}

# The agent mounts in list order, so a mount followed by one at a parent directory of its
# destination (or at its own) is covered by it: `[/etc/app/keys, /etc/app]` would hide a guest
# emptyDir at /etc/app/keys under the host's configMap share at /etc/app. containerd sends its
# CRI mounts sorted parents first, after its default mounts, so the parent always comes first.
# `mount_order` (generate, policy/mount_order.ts) lists the pairs [parent, nested] of expected
# destinations; with distinct destinations sent, each pair is two lookups. Otherwise (policy
# data without it, or a destination sent twice) every pair of sent mounts is compared.
mounts_in_order(c, mounts) if {
	order := c.mount_order
	distinct_destinations(mounts)
	pos := {m.destination: i | some i, m in mounts}
	every p in order {
		not nested_sent_first(pos, p)
	}
} else if {
	not mount_order_by_pairs(c, mounts)
	every i, m in mounts {
		not covered_later(mounts, i, m)
	}
}

# Both mounts of the pair [parent, nested] are sent, the nested one first.
nested_sent_first(pos, p) if pos[p[0]] > pos[p[1]]

mount_order_by_pairs(c, mounts) if {
	c.mount_order
	distinct_destinations(mounts)
}

covered_later(mounts, i, m) if {
	some j, n in mounts
	j > i
	covers(n, m)
}

covers(n, m) if startswith(m.destination, concat("", [n.destination, "/"]))

covers(n, m) if {
	n.destination == "/"
	m.destination != "/"
}

covers(n, m) if {
	n.destination == m.destination
	n != m
}

mounts_subset(expected, mounts, cid) if {
	distinct_destinations(expected)
	distinct_destinations(mounts)
	at := {em.destination: i | some i, em in expected}
	every m in mounts {
		mount_matches(expected[at[m.destination]], m, cid)
	}
	sent := {m.destination | some m in mounts}
	every em in expected {
		mount_sent_or_optional(em, sent)
	}
}

mount_sent_or_optional(em, sent) if sent[em.destination]

mount_sent_or_optional(em, sent) if {
	not sent[em.destination]
	object.get(em, "optional", false) == true
}

# With distinct destinations on both sides (the usual case: Kubernetes refuses two mounts at one
# path), the same count and every mount matching the expectation at its destination pair the two
# lists one to one: each mount is checked once, against the one expectation at its destination.
mounts_paired(expected, mounts, cid) if {
	distinct_destinations(expected)
	distinct_destinations(mounts)
	at := {em.destination: i | some i, em in expected}
	every m in mounts {
		mount_matches(expected[at[m.destination]], m, cid)
	}
} else if {
	# Otherwise every mount matches some expectation and every expectation some mount.
	not both_distinct(expected, mounts)
	every m in mounts {
		some em in expected
		mount_matches(em, m, cid)
	}
	every em in expected {
		some m in mounts
		mount_matches(em, m, cid)
	}
}

distinct_destinations(mounts) if count({m.destination | some m in mounts}) == count(mounts)

both_distinct(expected, mounts) if {
	distinct_destinations(expected)
	distinct_destinations(mounts)
}

mount_matches(em, m, cid) if {
	m.destination == em.destination
	t := mount_type(m)
	t == em.type
	source := object.get(m, "source", "")
	cid_pattern_match(em.source_regex, cid, source)
	mount_options_ok(em, object.get(m, "options", []))
	guest_local_in_sandbox(t, source)
}

# A guest-local emptyDir (Kata's "local" storage and mount type) lies directly in the sandbox's
# own directory, `<shared_dir><sandbox ID>/rootfs/local/<name>`, where the runtime puts it
# (kata_agent.go handleLocalStorage; genpolicy's `$(sandbox-id)`), whatever ID the policy data's
# pattern admits there: a directory of another name below shared_dir may be one CopyFile writes
# to (`<id>-<16 characters>-<name>/…`, a shared file's name), so the host could fill the volume
# with files of its own before the container mounts it (the agent's local storage handler keeps
# what the directory holds), or bind-mount a directory other than the storage's. The sandbox ID
# is lower-case alphanumeric (CreateSandbox), never such a name.
guest_local_in_sandbox(type, path) if {
	type != "local"
} else if {
	dir := concat("", [shared_dir, pstate.sandbox_id, "/rootfs/local/"])
	startswith(path, dir)
	not contains(substring(path, count(dir), -1), "/")
}

# Every expected option is present; beyond them only the expectation's optional ones (options
# that differ between runtime versions without weakening the mount, e.g. cgroup2's `nsdelegate`).
mount_options_ok(em, got) if got == em.options

mount_options_ok(em, got) if {
	got != em.options
	g := as_set(got)
	count(as_set(em.options) - g) == 0
	count((g - as_set(em.options)) - as_set(object.get(em, "optional_options", []))) == 0
}

# The agent serialises the OCI Mount field `type` as `type_` (Rust keyword); `type` is read only
# when `type_` is absent (hand-written inputs).
mount_type(m) := t if {
	t := m.type_
} else := object.get(m, "type", "")

# In the policy's order (the runtime's), each storage against the expectation at its index; else
# every storage matches some expectation and every expectation some storage.
storages_match(storages, expected, cid) if {
	count(storages) == count(expected)
	every i, s in storages {
		storage_matches(expected[i], s, cid)
	}
} else if {
	count(storages) == count(expected)
	every s in storages {
		some es in expected
		storage_matches(es, s, cid)
	}
	every es in expected {
		some s in storages
		storage_matches(es, s, cid)
	}
}

storage_matches(es, s, cid) if {
	s.driver == es.driver
	object.get(s, "fstype", "") == es.fstype
	cid_pattern_match(es.source_regex, cid, object.get(s, "source", ""))
	mount_point := object.get(s, "mount_point", "")
	cid_pattern_match(es.mount_point_regex, cid, mount_point)
	guest_local_in_sandbox(s.driver, mount_point)
	block_storage_ok(s, mount_point)
	regexes_match_all(object.get(s, "options", []), es.option_regexes)
	regexes_match_all(object.get(s, "driver_options", []), es.driver_option_regexes)
	fs_group_ok(es, object.get(s, "fs_group", null))
}

# Kata's block-encrypted emptyDir (`blk` storage) is mounted where the runtime puts it, in the
# sandbox's storage directory under the base64url of its device's PCI path (kata_agent.go
# handleBlkOCIMounts; genpolicy's `$(spath)/$(b64_device_id)`), so one device has one directory and
# one directory one device. The agent formats a device under a fresh ephemeral key the first time
# its mount point is added and shares it after, so all containers of the pod must name the same
# device (the one recorded for the pod by the first: generate allows one such volume per pod):
# otherwise the host could give the app a fresh, empty volume in place of the one the Initializer
# wrote its certificates and secret to, separating what the YAML joins.
block_storage_ok(s, mount_point) if {
	s.driver != "blk"
} else if {
	source := s.source
	is_string(source)
	mount_point == concat("/", [sandbox_storage_dir, base64url.encode(source)])
	block_device_of_pod(source)
}

sandbox_storage_dir := "/run/kata-containers/sandbox/storage"

# A guest-pull storage's metadata (its `image_guest_pull=` JSON; the runtime copies the container's
# annotations there) marks the pod's pause container as the sandbox, and only it. The agent
# decides by that metadata, not by the container's annotations, whether to pull the image the
# storage names or to unpack the guest's built-in pause image in its place
# (confidential_data_hub/image.rs is_sandbox: either container-type key with the value
# `sandbox`): an app container marked so never gets its pinned image and runs on the pause
# image's root filesystem; a pause container not marked so has `pause` pulled by name from a
# registry. The metadata is decoded as the agent decodes it (escapes; a key given twice keeps its
# last value in both readers), and must be an object (the agent refuses anything else).
guest_pull_kind_ok(c, storages) if {
	every s in storages {
		guest_pull_storage_kind_ok(c, s)
	}
}

guest_pull_storage_kind_ok(c, s) if {
	s.driver != "image_guest_pull"
} else if {
	every opt in s.driver_options {
		guest_pull_option_kind_ok(c, opt)
	}
}

guest_pull_option_kind_ok(c, opt) if {
	not startswith(opt, "image_guest_pull=")
} else if {
	metadata := json.unmarshal(substring(opt, 17, -1)).metadata
	is_object(metadata)
	pull_metadata_sandbox(metadata) == cri_container_type_is_sandbox(c)
}

default pull_metadata_sandbox(_) := false

pull_metadata_sandbox(metadata) if {
	metadata["io.kubernetes.cri.container-type"] == "sandbox"
} else if {
	metadata["io.kubernetes.cri-o.ContainerType"] == "sandbox"
}

default cri_container_type_is_sandbox(_) := false

cri_container_type_is_sandbox(c) if c.kind == "pause"

# All block storages of one request name one device: a container mounting the pod's block volume
# twice sends a storage per mount, and before the pod's device is recorded each alone passes
# block_device_of_pod, so without this the host could put the second mount on a fresh device.
one_block_device(storages) if count({s.source | some s in storages; s.driver == "blk"}) <= 1

block_device_of_pod(source) if pstate.block_device == source

block_device_of_pod(_) if not pstate.block_device

# A container's bind mount from the sandbox's storage directory binds one of the block storages
# of its own request, at its mount point, not a directory of its own choosing: without this, the
# mount and the storage the policy checked could name different devices. Exactly the mount point:
# the runtime sets the OCI mount's source to it (kata_agent.go handleBlkOCIMounts; generate refuses
# a subPath of an emptyDir), and a subdirectory would show the container a directory another
# container of the pod wrote (say its uploads) where the YAML mounts the volume (its config), or,
# through a symbolic link a container left there, whatever the agent resolves it to in the guest.
block_mounts_ok(mounts, storages) if {
	every m in mounts {
		block_mount_ok(object.get(m, "source", ""), storages)
	}
}

block_mount_ok(source, _) if not startswith(source, "/run/kata-containers/sandbox/storage/")

block_mount_ok(source, storages) if {
	startswith(source, "/run/kata-containers/sandbox/storage/")
	some s in storages
	s.driver == "blk"
	source == s.mount_point
}

# No group for the storage's files unless the policy names one (the pod's fsGroup on Kata's
# block-encrypted emptyDir); then exactly that group, with either change policy (Always or
# OnRootMismatch: when the agent re-chowns, not which group).
fs_group_ok(es, null) if not "fs_group" in object.keys(es)

fs_group_ok(es, g) if {
	is_object(g)
	g.group_id == es.fs_group
	every k, v in g {
		fs_group_field_ok(k, v)
	}
}

fs_group_field_ok("group_id", _)

fs_group_field_ok("group_change_policy", v) if v in {0, 1, "Always", "OnRootMismatch"}

# Same count, every value matches a pattern and every pattern matches a value.
# In order first (each value against the pattern at its index), else any to any with each
# pattern's shape worked out once.
regexes_match_all(values, patterns) if {
	count(values) == count(patterns)
	every i, v in values {
		shaped_match(patterns[i], v)
	}
} else if {
	count(values) == count(patterns)
	shapes := [pattern_shape(p) | some p in patterns]
	every v in values {
		some i, p in patterns
		shape_match(shapes[i], p, v)
	}
	every i, p in patterns {
		some v in values
		shape_match(shapes[i], p, v)
	}
}

linux_ok(c, req) if {
	l := linux(req)
	namespaces := object.get(l, "Namespaces", [])
	{ns.Type | some ns in namespaces} == as_set(c.namespaces)
	count(namespaces) == count(c.namespaces)
	every ns in namespaces {
		object.get(ns, "Path", "") == ""
	}
	sysctls_ok(c, sysctl_or_empty(object.get(l, "Sysctl", null)))
	paths_as_expected(c.masked_paths, object.get(l, "MaskedPaths", []), runtime_masked_paths)
	paths_as_expected(c.readonly_paths, object.get(l, "ReadonlyPaths", []), set())
	object.get(l, "Seccomp", null) == null
	oci_devices_ok(c, object.get(l, "Devices", []))
	device_cgroup_rules_ok(object.get(l, "Devices", []), object.get(l, "Resources", null))
	object.get(l, "MountLabel", "") == ""
	rootfs_propagation_ok(c, object.get(l, "RootfsPropagation", ""))
	hostname_ok(object.get(req.OCI, "Hostname", ""))
}

# Every path of `want` is in `got`, and `got` holds no other path than those and `extra`. The
# agent masks (and makes read-only) the paths after the container's mounts and after pivoting into
# its root (rustjail finish_rootfs: /dev/null bound over a file, a read-only tmpfs over a
# directory, following symbolic links such as /proc/self/root), so a path the runtime never sends
# hides whatever is there in the container: a volume (`/contrast`, where the Initializer wrote the
# key, certificates and workload secret) or a file of the pinned image (a TLS configuration, a CA
# bundle) replaced by an empty one. At once when `got` is a list that starts with `want` (the
# runtime sends containerd's masked and read-only paths in the order generate records them, and
# may add one of `extra` after them): one list comparison and a lookup for each path after them
# instead of a scan of `got` for each path; else path by path. A missing list is an empty one.
paths_as_expected(want, null, _) if count(want) == 0

paths_as_expected(want, got, extra) if {
	is_array(got)
	array.slice(got, 0, count(want)) == want
	every p in array.slice(got, count(want), count(got)) {
		extra[p]
	}
} else if {
	is_array(got)
	every p in want {
		p in got
	}
	every p in got {
		path_expected_or_extra(want, extra, p)
	}
}

path_expected_or_extra(want, _, p) if p in want

path_expected_or_extra(_, extra, p) if extra[p]

# The masked paths a runtime adds beyond those generate records (settings.json), by version:
# containerd 2 masks /sys/devices/virtual/powercap (containerd 1.7 does not; README), Docker and
# newer runtimes /proc/interrupts. Kernel files of the guest: masking them hides nothing of the
# container's.
runtime_masked_paths := {"/sys/devices/virtual/powercap", "/proc/interrupts"}

# The root filesystem's propagation is private or slave; shared only for a container whose policy
# has a Bidirectional (`rshared`) mount, for which containerd makes the root shared.
rootfs_propagation_ok(_, p) if p in {"", "private", "rprivate", "slave", "rslave"}

rootfs_propagation_ok(c, p) if {
	p in {"shared", "rshared"}
	some m in c.mounts
	"rshared" in m.options
}

# Block devices only at the container paths the container's policy data lists (`devices`: the
# secure-pv container's encrypted volume, nothing else), and only block devices.
oci_devices_ok(c, devices) if {
	every d in devices {
		d.Type == "b"
		some e in object.get(c, "devices", [])
		d.Path == e.container_path
	}
}

# The agent's device list: block devices at the listed container paths; for a GPU container,
# either no VFIO device (cold plug: the GPUs are in the VM from its start) or one per GPU, each at
# `/dev/vfio/devices/vfio<n>` with its `cdi.k8s.io/vfio<n>` annotation, no path twice.
agent_devices_ok(c, devices, annotations) if {
	every d in devices {
		agent_device_ok(c, d, annotations)
	}
	vfio := [d.container_path | some d in devices; object.get(d, "type_", "") == "vfio-pci-gk"]
	count(vfio) in {0, gpus(c)}
	count({p | some p in vfio}) == count(vfio)
}

agent_device_ok(c, d, _) if {
	object.get(d, "type_", "") in block_device_types
	some e in object.get(c, "devices", [])
	d.container_path == e.container_path
}

agent_device_ok(c, d, annotations) if {
	gpus(c) > 0
	d.type_ == "vfio-pci-gk"
	regex.match(`^/dev/vfio/devices/vfio[0-9]+$`, d.container_path)
	is_string(annotations[concat("", ["cdi.k8s.io/vfio", substring(d.container_path, 22, -1)])])
}

# Block devices the agent finds by the address the host hot-plugged them at (`blk`: PCI path,
# `scsi`: SCSI address, `blk-ccw`: CCW bus ID), so a name the host chooses can only be one of the
# devices it added. Not `mmioblk` or `nvdimm`: for those the agent takes the request's guest path
# (`vm_path`) as it is (device.rs virtiommio_blk_device_handler, virtio_nvdimm_device_handler), any
# block device of the guest: another volume's decrypted device-mapper device (`/dev/dm-0`, a
# block-encrypted emptyDir's or the secure-pv volume's plain text) at the container's devicePath,
# or the guest's own disk. Neither is how a Kata runtime with QEMU or Cloud Hypervisor plugs a
# volume (virtio-mmio is Firecracker's; no capture has one).
block_device_types := {"blk", "blk-ccw", "scsi"}

# Every OCI block device is one the runtime hot-plugged and lists for the agent at the same
# container path: the agent then gives the device node the guest's major and minor of that
# device (device.rs update_spec_devices). Without it the node keeps the major and minor the
# request names, any block device of the guest (another volume's decrypted device-mapper device,
# the guest's own disk).
oci_devices_hotplugged(oci_devices, agent_devices) if {
	every d in oci_devices {
		some ad in agent_devices
		ad.container_path == d.Path
		object.get(ad, "type_", "") in block_device_types
	}
}

# Device cgroup rules: a deny rule is harmless; an allow rule (which, with CAP_MKNOD, would open
# the guest's block devices to the container) must name one of the container's own checked
# block devices.
device_cgroup_rules_ok(_, null)

device_cgroup_rules_ok(devices, r) if {
	r != null
	every rule in object.get(r, "Devices", []) {
		device_rule_ok(devices, rule)
	}
}

device_rule_ok(_, rule) if object.get(rule, "Allow", false) == false

device_rule_ok(devices, rule) if {
	rule.Allow == true
	rule.Type == "b"

	# The agent reads a major or minor of 0 or less as any (protocols trans.rs: `Some` only when
	# above 0): a rule for major 0 or -1 is one for every block device. (A real device's minor
	# may be 0, e.g. NVMe 259:0, which the agent widens to all minors of that major: a limit of
	# the agent's conversion, README known limits.)
	rule.Major > 0
	some d in devices
	d.Major == rule.Major
	d.Minor == rule.Minor
}

# Every sysctl sent is expected with its value; every expected one is sent, except the runtime
# defaults containerd 1.7 leaves out (`optional_sysctls`: without them the kernel keeps its
# stricter defaults).
sysctls_ok(c, got) if {
	want := sysctl_or_empty(c.sysctls)
	every k, v in got {
		want[k] == v
	}
	optional := as_set(object.get(c, "optional_sysctls", []))
	every k, v in want {
		sysctl_present_or_optional(got, k, v, optional)
	}
}

sysctl_present_or_optional(got, k, v, optional) if {
	got[k] == v
} else if {
	not got[k]
	k in optional
}

sysctl_or_empty(s) := s if s != null

sysctl_or_empty(null) := {}

no_extras(req) if {
	no_hooks(object.get(req.OCI, "Hooks", null))
	count(object.get(linux(req), "UIDMappings", [])) == 0
	count(object.get(linux(req), "GIDMappings", [])) == 0
	count(object.get(req, "shared_mounts", [])) == 0
	no_stdin_port(req)
}

# With the agent's passfd I/O enabled (the guest's `agent.passfd_listener_port`), CreateContainer
# and ExecProcess take the process's stdin, stdout and stderr from the host's vsock connections
# that `stdin_port`, `stdout_port` and `stderr_port` name (rpc.rs, passfd_io::take_io_streams):
# a `stdin_port` lets the host write to the process's stdin, which the policy refuses as
# WriteStreamRequest. The runtime sends 0 (no port); the output ports give the host nothing
# ReadStreamRequest does not.
no_stdin_port(req) if object.get(req, "stdin_port", 0) == 0

no_hooks(null)

no_hooks(h) if {
	h != null
	every _, list in h {
		count(object.get({"l": list}, "l", [])) == 0
	}
}

# --- ExecProcess: only the pod's exec probes (and commands the settings allow) ---

default ExecProcessRequest := {"allowed": false, "ops": []}

ExecProcessRequest := {"allowed": true, "ops": []} if {
	known_container(input.container_id)
	c := pd.containers[pstate.containers[input.container_id].index]
	p := input.process
	exec_command_allowed(c, p.Args)
	object.get(p, "Terminal", false) == false
	exec_process_like_container(c.process, p)
	string_user_ok(c, object.get(input, "string_user", null))
	exec_env_ok(c.process, object.get(p, "Env", []))
	no_stdin_port(input)
}

# containerd execs with the container's own process, so its whole environment: every variable
# admitted, and (as for the container) every expected one present: a probe or lifecycle hook
# (`preStop: /app/cli drain`) run without, say, its `TLS_REQUIRED=true` can do what the container
# would not.
exec_env_ok(e, env) if {
	names := env_checked_names(e, env)
	count(names) == count(env)
	env_complete(e, names)
}

# The Kata runtime execs probes and hooks with the container's user, groups and working directory
# and sends no capabilities and NoNewPrivileges false (its exec command carries neither; the agent
# runs the process in the container's namespaces). Anything else is not the runtime's request.
exec_process_like_container(e, p) if {
	user_ok(e, object.get(p, "User", {}))
	object.get(p, "Cwd", "") == e.cwd
	object.get(p, "Capabilities", null) == null
	object.get(p, "NoNewPrivileges", false) == false
	object.get(p, "ApparmorProfile", "") == ""
	object.get(p, "SelinuxLabel", "") == ""
}

exec_command_allowed(c, args) if {
	some cmd in c.exec_commands
	args == cmd
}

exec_command_allowed(_, args) if {
	some cmd in object.get(pd, ["exec", "allowed_commands"], [])
	args == cmd
}

# --- CopyFile: only the runtime's shared files, canonical paths, safe symlinks ---

default CopyFileRequest := {"allowed": false, "ops": []}

CopyFileRequest := {"allowed": true, "ops": []} if {
	path := input.path
	canonical_path(path)
	some r in pd.copy_file.path_regexes
	pattern_match(r, path)
	bits.and(object.get(input, "file_mode", 0), 3072) == 0
	copy_file_type(input) in {"Regular", "Directory", "Symlink"}
	symlink_target_ok(input)
}

# The agent decodes the file type from the mode (PolicyCopyFileRequest.file_type); inputs without
# it (hand-written, the raw CopyFileRequest) are decoded here the same way.
copy_file_type(req) := req.file_type if is_string(req.file_type)

copy_file_type(req) := file_type_of_mode(object.get(req, "file_mode", 0)) if {
	not "file_type" in object.keys(req)
}

file_type_of_mode(mode) := "Regular" if bits.and(mode, 61440) == 32768

file_type_of_mode(mode) := "Directory" if bits.and(mode, 61440) == 16384

file_type_of_mode(mode) := "Symlink" if bits.and(mode, 61440) == 40960

file_type_of_mode(mode) := "Unknown" if not bits.and(mode, 61440) in {32768, 16384, 40960}

canonical_path(path) if {
	startswith(path, "/")
	not contains(path, "//")
	not contains(path, "/./")
	not contains(path, "/../")
	not endswith(path, "/..")
	not endswith(path, "/.")
	not endswith(path, "/")
}

is_symlink(req) if copy_file_type(req) == "Symlink"

symlink_target_ok(req) if not is_symlink(req)

# A symlink lives below a share, never as the share itself (the share's mount source would follow
# it anywhere in the guest).
symlink_target_ok(req) if {
	is_symlink(req)
	below_share(req.path)
	target := request_symlink_target(req)
	target != ""
	not startswith(target, "/")
	not contains(concat("", ["/", target, "/"]), "/../")
}

# The agent hands the policy a PolicyCopyFileRequest with the decoded `symlink_target` (and no
# `data`); the raw CopyFileRequest form with `data` is read only when that field is absent.
below_share(path) if {
	startswith(path, shared_dir)
	contains(substring(path, count(shared_dir), -1), "/")
}

request_symlink_target(req) := req.symlink_target if is_string(req.symlink_target)

request_symlink_target(req) := symlink_target(object.get(req, "data", "")) if {
	not "symlink_target" in object.keys(req)
}

symlink_target(d) := base64.decode(d) if is_string(d)

symlink_target(d) := concat("", [c | some b in d; c := byte_char(b)]) if is_array(d)

byte_char(b) := "/" if b == 47

byte_char(b) := "." if b == 46

byte_char(b) := "x" if {
	b != 47
	b != 46
}

# --- Network: never touch loopback, never route from or to it ---
#
# How these rules read the request is chosen for opa's wasm, where each key lookup (a field by
# `.`, or object.get) hashes the key again, each number literal is allocated and compared by
# parsing both numbers, and each default of object.get that is an object or array is allocated:
# a field that may be absent is read inside a helper function (absent: the helper is undefined,
# as object.get's default would decide), except where object.get is what refuses an entry that
# is not an object; the common values are tested first in else chains. The verdicts for absent
# and mistyped fields are pinned by rego/fidelity_test.rego and tests/rego/network_checks_test.ts.

default UpdateInterfaceRequest := {"allowed": false, "ops": []}

UpdateInterfaceRequest := {"allowed": true, "ops": []} if {
	i := input.interface
	not interface_on_loopback(i)
	every a in object.get(i, "IPAddresses", []) {
		not loopback_address(object.get(a, "address", ""))
	}
	not interface_flags_bad(i)
	hardware_address_ok(i.hwAddr)
}

interface_on_loopback(i) if {
	i.name == "lo"
} else if {
	i.device == "lo"
}

# The runtime sets no interface flags or only IFF_NOARP (128); IFF_LOOPBACK, IFF_POINTOPOINT,
# IFF_NOTRAILERS (64), promiscuous mode and the rest change how the guest trusts the link.
# Absent flags are none. (Two comparisons in one body rather than a set: opa's wasm builds a set
# literal in each evaluation; the common value 0 fails the first.)
interface_flags_bad(i) if {
	f := i.raw_flags
	f != 0
	f != 128
}

# A MAC address (`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`: six pairs of hex digits), never all
# zeros, decided without that pattern (its RE2 program costs ~35 µs to build in each evaluation)
# and without a per-character scan (trim with a 22-character cutset costs more than the rest of
# the request). With each colon replaced by `\u00`, the whole after a `\u00` and in quotes is a
# JSON string in which every `\u00` must be followed by two hex digits (JSON's `\u` escape takes
# exactly four) and decodes to one character. Without a quote or backslash of its own, the address
# can neither end the string early (opa's wasm parser ignores what follows a complete value) nor
# escape one of those backslashes, so the string decodes to one character per part and one per
# character left after a part's two hex digits: with k colons in 17 characters that is
# (k + 1) + (17 - k - 2(k + 1)) = 16 - 2k characters, six exactly when there are five colons and
# no part longer than two. rego/patterns_test.rego and tests/rego/network_checks_test.ts compare
# this with the pattern.
hardware_address_ok(mac) if {
	count(mac) == 17
	not contains(mac, "\\")
	not contains(mac, "\"")
	count(json.unmarshal(concat("", ["\"\\u00", replace(mac, ":", "\\u00"), "\""]))) == 6
	mac != "00:00:00:00:00:00"
}

default UpdateRoutesRequest := {"allowed": false, "ops": []}

UpdateRoutesRequest := {"allowed": true, "ops": []} if {
	every r in object.get(input.routes, "Routes", []) {
		not object.get(r, "device", "") == "lo"
		not route_touches_loopback(r)
	}
}

route_touches_loopback(r) if {
	loopback_address(r.source)
} else if {
	loopback_address(r.gateway)
} else if {
	loopback_address(r.dest)
}

default AddARPNeighborsRequest := {"allowed": false, "ops": []}

AddARPNeighborsRequest := {"allowed": true, "ops": []} if {
	every n in object.get(input.neighbors, "ARPNeighbors", []) {
		not object.get(n, "device", "") == "lo"
		not loopback_address(object.get(object.get(n, "toIPAddress", {}), "address", ""))
		neighbour_state_and_flags_ok(n)
	}
}

# The common neighbour (NUD_PERMANENT, no flags) in one body, the others by the two checks below.
# A neighbour without state is refused, one without flags has none.
neighbour_state_and_flags_ok(n) if {
	n.state == 128
	n.flags == 0
} else if {
	neighbour_state_ok(n.state)
	not neighbour_flags_bad(n)
}

# NUD_PERMANENT (128) or NUD_REACHABLE (2), as the runtime copies them from the host's table.
# (An else chain, the common value first: opa's wasm evaluates every body of a function.)
neighbour_state_ok(s) if {
	s == 128
} else if {
	s == 2
}

# Other than no flags, NTF_PROXY (8), NTF_ROUTER (128) or both.
neighbour_flags_bad(n) if {
	f := n.flags
	f != 0
	f != 128
	f != 8
	f != 136
}

# Loopback by the address's value, not its spelling: `127.0.0.0/8` (any octet spelling Rust's
# parser accepts), `::1` in every zero-padded or expanded form (`00::001`, `0:0:0:0:0:0:0:1`), and
# IPv4-mapped loopback (`::ffff:127.0.0.1`, `::ffff:7f00:1`). A prefix length is ignored.
# Loopback by the address part (before any `/`) as the patterns `^0*127\.`, `^[0:]*:0{0,3}1$`,
# `^[0:]*:ffff:(0*127\.|0{0,2}7f[0-9a-f]{2}:)` and `^[0:]*:0\.0\.0\.1$` decide it on its lower-case form
# (rego/patterns_test.rego compares them), by string operations: their RE2 programs would be
# built in each evaluation. IPv4 loopback begins with `127.` after leading zeros; every IPv6 form
# begins with `0` or `:` (the patterns' `[0:]*:`), so an address beginning otherwise (the common
# case) costs three prefix tests and no scan.
loopback_address(a) if {
	startswith(a, "127.")
} else if {
	startswith(a, "0")
	loopback_after_zero(a)
} else if {
	startswith(a, ":")
	loopback_ip6(lower(split(a, "/")[0]))
}

loopback_after_zero(a) if {
	startswith(trim_left(a, "0"), "127.")
} else if {
	loopback_ip6(lower(split(a, "/")[0]))
}

loopback_ip6(x) if {
	# `[0:]*` `:` `0{0,3}` `1`: only zeros and colons before the final 1, at most three zeros after
	# the last colon
	endswith(x, "1")
	head := substring(x, 0, count(x) - 1)
	trim(head, "0:") == ""
	groups := split(head, ":")
	count(groups) > 1
	count(groups[count(groups) - 1]) <= 3
} else if {
	# `[0:]*` `:ffff:` and then IPv4 loopback, dotted or as the first hex group `0{0,2}7f..`
	at := indexof(x, ":ffff:")
	at >= 0
	trim(substring(x, 0, at), "0:") == ""
	mapped_loopback(substring(x, at + 6, -1))
} else if {
	# `[0:]*:0.0.0.1`: `::1` with its last 32 bits spelled as an embedded IPv4 address, which the
	# agent's parser (Rust's Ipv6Addr) reads in any IPv6 address (`::0.0.0.1`, `0:0:0:0:0:0:0.0.0.1`)
	endswith(x, ":0.0.0.1")
	trim(trim_suffix(x, ":0.0.0.1"), "0:") == ""
}

mapped_loopback(rest) if {
	startswith(trim_left(rest, "0"), "127.")
} else if {
	groups := split(rest, ":")
	count(groups) > 1
	count(groups[0]) <= 6
	t := trim_left(groups[0], "0")
	count(t) == 4
	startswith(t, "7f")
	trim(substring(t, 2, 2), "0123456789abcdef") == ""
}
