# Container IDs: any ID Kata's agent accepts (kata-sys-util verify_id: a letter or digit, then
# letters, digits, `_`, `.`, `-`; containerd's 64 hex characters are one case, Kata's captures use
# IDs such as `gid`), and never one that would make the bundle, root or share paths built from it
# leave their directory. The fixture pod's legitimate CreateContainer request is replayed with its
# container ID replaced everywhere it occurs (ID, exec ID, root path, image storage, bundle path,
# termination-log share, cgroup path). Run with `opa test rego/`.
package agent_policy_container_id_test

import rego.v1

fixture := data.cases.fixture_pod

app_case := [c | some c in fixture.cases; c.name == "legitimate CreateContainerRequest app"][0]

# The request with its container ID replaced by `id` in every field.
with_id(id) := json.unmarshal(replace(json.marshal(app_case.input), app_case.input.container_id, id))

verdict(request) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as request
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as app_case.state
}

test_the_fixture_request_is_allowed_with_its_own_id if {
	verdict(app_case.input)
	count(app_case.input.container_id) == 64
}

test_kata_ids_are_accepted if {
	every id in ["gid", "aa", "a.", "a..", "hello..world", "aAzZ0123456789_.-", "Web-1.2_3"] {
		verdict(with_id(id))
	}
}

test_ids_kata_refuses_or_that_leave_their_directory_are_denied if {
	every id in ["", "a", ".", "..", ".a", "-a", "_a", "a/b", "../a", "a/../b", "foo bar", "ä1"] {
		not verdict(with_id(id))
	}
}

# IDs naming a directory the agent uses below /run/kata-containers (where a container's bundle
# goes: /run/kata-containers/<id>) are denied although kata_id admits them: `sandbox` would put the
# bundle and root filesystem into the sandbox's own directory (resolv.conf, shm, guest-pulled
# layers), `image` into the image store, `shared` beside the host share.
test_ids_naming_the_agents_own_directories_are_denied if {
	every id in ["shared", "sandbox", "image", "virtual-volumes", "swap"] {
		not verdict(with_id(id))
	}
	verdict(with_id("sandbox1"))
	verdict(with_id("images"))
}

test_a_sandbox_id_naming_the_agents_own_directories_is_denied if {
	pd := {"pod": {"sandbox_pidns": false, "hostname_regex": "^x$"}, "sandbox": {"storages": []}}
	request := {"sandbox_id": "sandbox", "hostname": "", "storages": [], "sandbox_pidns": false}
	not data.agent_policy.CreateSandboxRequest.allowed with input as request with data.agent_policy.policy_data as pd with data.pstate as {}
	data.agent_policy.CreateSandboxRequest.allowed with input as object.union(request, {"sandbox_id": "sandbox0"}) with data.agent_policy.policy_data as pd with data.pstate as {}
}

# `.` is the only RE2 metacharacter an ID may hold: it is escaped where the ID enters a pattern,
# so `a.b` does not admit the root path, image storage or termination log of `aXb`.
test_a_dot_in_an_id_matches_only_a_dot if {
	request := with_id("a.b")
	verdict(request)
	other_root := json.patch(request, [{"op": "replace", "path": "/OCI/Root/Path", "value": "/run/kata-containers/aXb/rootfs"}])
	not verdict(other_root)
	other_storage := json.patch(request, [{"op": "replace", "path": "/storages/0/mount_point", "value": "/run/kata-containers/aXb/rootfs"}])
	not verdict(other_storage)
}

# A root path of another container (one of this pod's or any other ID) is denied: only the
# container's own ID may name its root filesystem.
test_the_root_path_names_the_container_itself if {
	request := with_id("gid")
	not verdict(json.patch(request, [{"op": "replace", "path": "/OCI/Root/Path", "value": "/run/kata-containers/gie/rootfs"}]))
	not verdict(json.patch(request, [{"op": "replace", "path": "/container_id", "value": "gie"}]))
}

# Only the pause container takes the sandbox's ID: an app container under it would hold the pause
# container's bundle directory (/run/kata-containers/<sandbox ID>, where the pause container's
# root goes) and keep the pause container out while it runs. Decided before the pause container
# exists (once it does, its ID is a known container's anyway).
test_an_app_container_cannot_take_the_sandbox_id if {
	sandbox_id := app_case.state.sandbox_id
	sandbox_id != app_case.input.container_id
	before_pause := json.patch(app_case.state, [{"op": "replace", "path": "/containers", "value": {}}])
	verdict_in(with_id(concat("", [sandbox_id, "0"])), before_pause)
	not verdict_in(with_id(sandbox_id), before_pause)
}

verdict_in(request, state) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as request
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as state
}
