# A disk-backed emptyDir in Kata's guest-local mode ("local" storage): the runtime places it in
# the sandbox's directory, `/run/kata-containers/shared/containers/<sandbox ID>/rootfs/local/<name>`
# (kata_agent.go handleLocalStorage: "the first container in the VM has the same ID as the
# sandbox ID"), and both the storage's mount point and the container's bind-mount source name it.
# The host may not put the volume elsewhere below the shared directory: a directory named like a
# shared file (`<id>-<16 characters>-<name>/…`) is one CopyFile writes to, so the host could fill
# the pod's emptyDir with files of its own before the container mounts it (the agent's local
# storage handler keeps what the directory holds), or bind a directory other than the storage's.
# Run with `opa test rego/`.
package agent_policy_local_emptydir_test

import rego.v1

fixture := data.cases.fixture_pod

app_case := [c | some c in fixture.cases; c.name == "legitimate CreateContainerRequest app"][0]

sandbox_id := app_case.state.sandbox_id

local_pattern := `^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+/rootfs/local/secrets$`

# The fixture's app container with its /contrast emptyDir on disk (guest-local), as
# policy/policy_data.ts generates it for emptydir_mode "guest-local".
local_pd := json.patch(fixture.policy_data, [
	{"op": "replace", "path": "/containers/2/mounts", "value": [local_mount(m) | some m in fixture.policy_data.containers[2].mounts]},
	{"op": "replace", "path": "/containers/2/storages", "value": [local_storage(s) | some s in fixture.policy_data.containers[2].storages]},
])

local_mount(m) := object.union(m, {"type": "local", "source_regex": local_pattern}) if m.destination == "/contrast"

local_mount(m) := m if m.destination != "/contrast"

local_storage(s) := {
	"driver": "local", "fstype": "local", "source_regex": "^local$", "mount_point_regex": local_pattern,
	"option_regexes": ["^mode=0777$"], "driver_option_regexes": [],
} if s.driver == "ephemeral"

local_storage(s) := s if s.driver != "ephemeral"

dir_in(id) := concat("", ["/run/kata-containers/shared/containers/", id, "/rootfs/local/secrets"])

# The app's request with the emptyDir's mount source in `mount_id`'s and its storage in
# `storage_id`'s directory.
request(mount_id, storage_id) := json.patch(app_case.input, [
	{"op": "replace", "path": "/OCI/Mounts", "value": [local_oci_mount(m, mount_id) | some m in app_case.input.OCI.Mounts]},
	{"op": "replace", "path": "/storages", "value": [local_agent_storage(s, storage_id) | some s in app_case.input.storages]},
])

local_oci_mount(m, id) := object.union(m, {"type_": "local", "source": dir_in(id)}) if m.destination == "/contrast"

local_oci_mount(m, _) := m if m.destination != "/contrast"

local_agent_storage(s, id) := object.union(s, {"driver": "local", "fstype": "local", "source": "local", "mount_point": dir_in(id), "options": ["mode=0777"]}) if s.driver == "ephemeral"

local_agent_storage(s, _) := s if s.driver != "ephemeral"

verdict(req) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as req
		with data.agent_policy.policy_data as local_pd
		with data.pstate as app_case.state
}

# A directory named like a shared file: CopyFile may write below it.
copy_file_dir := "ab-0123456789abcdef-cd"

copy_into(dir) if {
	req := {
		"path": concat("/", [dir, "cert.pem"]), "file_mode": 33188, "file_type": "Regular",
		"dir_mode": 493, "uid": 0, "gid": 0, "offset": 0, "file_size": 4,
	}
	data.agent_policy.CopyFileRequest.allowed with input as req
		with data.agent_policy.policy_data as local_pd
		with data.pstate as app_case.state
}

test_the_sandbox_directory_is_admitted if {
	verdict(request(sandbox_id, sandbox_id))
}

test_the_sandbox_directory_is_not_one_copy_file_writes_to if {
	not copy_into(dir_in(sandbox_id))
}

test_a_directory_the_host_fills_with_copy_file_is_denied if {
	copy_into(dir_in(copy_file_dir))
	not verdict(request(copy_file_dir, copy_file_dir))
}

test_a_bind_source_other_than_the_storage_is_denied if {
	not verdict(request(copy_file_dir, sandbox_id))
	not verdict(request(sandbox_id, copy_file_dir))
}

test_another_containers_directory_is_denied if {
	other := "831c30c6ab1726c85b0fcc4dd0d919429e10d5bce7da330d4ee8d4f045e18da7"
	not verdict(request(other, other))
}
