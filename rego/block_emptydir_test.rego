# A disk-backed emptyDir in Kata's block-encrypted mode: a virtio-blk device (`blk` storage, source
# its PCI path) the agent formats under an ephemeral key the first time its mount point is added and
# mounts at `/run/kata-containers/sandbox/storage/<base64url of the PCI path>` (kata_agent.go
# handleBlkOCIMounts; genpolicy's `$(spath)/$(b64_device_id)`); the container bind-mounts that
# directory. The host may not give one container of the pod another device than the others (the app
# would get a fresh, empty volume instead of the one the Initializer wrote to), mount a device
# elsewhere than its directory, or bind a container to a storage directory its request does not
# add. Run with `opa test rego/`.
package agent_policy_block_emptydir_test

import rego.v1

fixture := data.cases.fixture_pod

app_case := [c | some c in fixture.cases; c.name == "legitimate CreateContainerRequest app"][0]

block_pattern := "^/run/kata-containers/sandbox/storage/[A-Za-z0-9+/=]+$"

# The fixture's app container with its /contrast emptyDir on an encrypted block device, as
# policy/policy_data.ts generates it for emptydir_mode "block-encrypted".
block_pd := json.patch(fixture.policy_data, [
	{"op": "replace", "path": "/containers/2/mounts", "value": [block_mount(m) | some m in fixture.policy_data.containers[2].mounts]},
	{"op": "replace", "path": "/containers/2/storages", "value": [block_storage(s) | some s in fixture.policy_data.containers[2].storages]},
])

block_mount(m) := object.union(m, {"source_regex": block_pattern}) if m.destination == "/contrast"

block_mount(m) := m if m.destination != "/contrast"

block_storage(s) := {
	"driver": "blk", "fstype": "ext4", "source_regex": "^[0-9a-f]{2}(/[0-9a-f]{2})*$",
	"mount_point_regex": block_pattern, "option_regexes": [],
	"driver_option_regexes": ["^encryption_key=ephemeral$", "^create_filesystem$"],
} if s.driver == "ephemeral"

block_storage(s) := s if s.driver != "ephemeral"

dir_of(device) := concat("/", ["/run/kata-containers/sandbox/storage", base64url.encode(device)])

# The app's request with device `device` mounted at `mount_point` and /contrast bound from `source`.
request(device, mount_point, source) := json.patch(app_case.input, [
	{"op": "replace", "path": "/OCI/Mounts", "value": [block_oci_mount(m, source) | some m in app_case.input.OCI.Mounts]},
	{"op": "replace", "path": "/storages", "value": [block_agent_storage(s, device, mount_point) | some s in app_case.input.storages]},
])

block_oci_mount(m, source) := object.union(m, {"source": source}) if m.destination == "/contrast"

block_oci_mount(m, _) := m if m.destination != "/contrast"

block_agent_storage(s, device, mount_point) := object.union(s, {
	"driver": "blk", "fstype": "ext4", "source": device, "mount_point": mount_point, "options": [],
	"driver_options": ["encryption_key=ephemeral", "create_filesystem"],
}) if s.driver == "ephemeral"

block_agent_storage(s, _, _) := s if s.driver != "ephemeral"

legitimate(device) := request(device, dir_of(device), dir_of(device))

# The verdict with the pod's device not yet recorded (`pinned` null) or recorded by an earlier
# container (the Initializer's).
result(req, pinned) := r if {
	state := pod_state(pinned)
	r := data.agent_policy.CreateContainerRequest with input as req
		with data.agent_policy.policy_data as block_pd
		with data.pstate as state
}

pod_state(null) := app_case.state

pod_state(device) := object.union(app_case.state, {"block_device": device}) if device != null

verdict(req, pinned) := result(req, pinned).allowed

test_the_first_container_records_the_pods_device if {
	r := result(legitimate("00/00"), null)
	r.allowed
	{"op": "add", "path": "/pstate/block_device", "value": "00/00"} in r.ops
}

test_a_later_container_on_the_pods_device_is_admitted if {
	r := result(legitimate("00/00"), "00/00")
	r.allowed
	every op in r.ops {
		op.path != "/pstate/block_device"
	}
}

# The runtime binds the storage's mount point itself (generate refuses a subPath of an emptyDir): a
# subdirectory (one another container wrote, or a symbolic link left there) is another volume.
test_a_subdirectory_of_the_storage_is_denied if {
	verdict(request("00/00", dir_of("00/00"), dir_of("00/00")), "00/00")
	not verdict(request("00/00", dir_of("00/00"), concat("/", [dir_of("00/00"), "conf"])), "00/00")
	not verdict(request("00/00", dir_of("00/00"), concat("/", [dir_of("00/00"), "conf"])), null)
	not verdict(request("00/00", dir_of("00/00"), concat("", [dir_of("00/00"), "/"])), "00/00")
}

test_another_device_than_the_pods_is_denied if {
	verdict(legitimate("01/00"), null)
	not verdict(legitimate("01/00"), "00/00")
}

test_a_device_mounted_at_another_devices_directory_is_denied if {
	not verdict(request("00/00", dir_of("01/00"), dir_of("01/00")), null)
	not verdict(request("00/00", concat("/", [dir_of("01/00"), "x"]), concat("/", [dir_of("01/00"), "x"])), null)
}

test_a_mount_from_a_directory_no_storage_of_the_request_adds_is_denied if {
	not verdict(request("00/00", dir_of("00/00"), dir_of("01/00")), null)
	not verdict(request("00/00", dir_of("00/00"), concat("/", [dir_of("00/00"), "..", base64url.encode("01/00")])), null)
}

# One container mounting the volume twice (two volumeMounts of one emptyDir: two `blk` storages in
# its request, as in the policy data): both must name one device. With the pod's device not yet
# recorded, each storage alone passed the device check, so the host could name two devices and
# bind the second mount to a fresh one (the rules then failed only by a conflict of
# block_device_ops, an evaluation error, not a denial).
twice_pd := json.patch(block_pd, [
	{"op": "add", "path": "/containers/2/mounts/-", "value": object.union(contrast_mount(block_pd.containers[2].mounts), {"destination": "/contrast2"})},
	{"op": "add", "path": "/containers/2/storages/-", "value": blk_storage(block_pd.containers[2].storages)},
])

contrast_mount(mounts) := [m | some m in mounts; m.destination == "/contrast"][0]

blk_storage(storages) := [s | some s in storages; s.driver == "blk"][0]

twice(req, second) := json.patch(req, [
	{"op": "add", "path": "/OCI/Mounts/-", "value": object.union(contrast_mount(req.OCI.Mounts), {"destination": "/contrast2", "source": dir_of(second)})},
	{"op": "add", "path": "/storages/-", "value": object.union(blk_storage(req.storages), {"source": second, "mount_point": dir_of(second)})},
])

twice_result(req, pinned) := r if {
	r := data.agent_policy.CreateContainerRequest with input as req
		with data.agent_policy.policy_data as twice_pd
		with data.pstate as pod_state(pinned)
}

test_a_volume_mounted_twice_on_one_device_is_admitted if {
	r := twice_result(twice(legitimate("00/00"), "00/00"), null)
	r.allowed
	{"op": "add", "path": "/pstate/block_device", "value": "00/00"} in r.ops
}

test_a_volume_mounted_twice_on_two_devices_is_denied if {
	not twice_result(twice(legitimate("00/00"), "01/00"), null).allowed
	not twice_result(twice(legitimate("00/00"), "01/00"), "00/00").allowed
}
