# Unit tests of rules.rego, run with `opa test rego/`.
package agent_policy_test

import rego.v1

import data.agent_policy

policy_data := {
	"pod": {"namespace": "ns", "sandbox_name_regex": "^web$", "hostname_regex": "^web$", "sandbox_pidns": false},
	"containers": [],
	"sandbox": {"storages": []},
	"copy_file": {"path_regexes": ["^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-hosts$"]},
	"exec": {"allowed_commands": []},
	"requests": {"ReadStreamRequest": true, "WriteStreamRequest": false},
}

sandbox := concat("", [x | some _ in numbers.range(1, 64); x := "a"])

test_set_policy_is_always_denied if {
	not agent_policy.SetPolicyRequest.allowed with data.agent_policy.policy_data as object.union(policy_data, {"requests": {"SetPolicyRequest": true}})
		with input as {"policy": ""}
}

test_simple_requests_follow_policy_data if {
	agent_policy.ReadStreamRequest.allowed with data.agent_policy.policy_data as policy_data with input as {}
	not agent_policy.WriteStreamRequest.allowed with data.agent_policy.policy_data as policy_data with input as {}
	not agent_policy.UpdateContainerRequest.allowed with data.agent_policy.policy_data as policy_data with input as {}
}

sandbox_request := {
	"hostname": "", "dns": [], "storages": [], "sandbox_pidns": false, "sandbox_id": sandbox,
	"guest_hook_path": "", "kernel_modules": [], "guest_userns": false,
}

test_create_sandbox_once_with_state_op if {
	r := agent_policy.CreateSandboxRequest with data.agent_policy.policy_data as policy_data with input as sandbox_request
	r.allowed
	r.ops == [{"op": "add", "path": "/pstate/sandbox_id", "value": sandbox}]
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as sandbox_request
		with data.pstate as {"sandbox_id": sandbox}
}

test_create_sandbox_denies_kernel_modules_and_hooks if {
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as object.union(sandbox_request, {"kernel_modules": [{"name": "x", "parameters": []}]})
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as object.union(sandbox_request, {"guest_hook_path": "/hooks"})
}

test_copy_file_paths if {
	ok := concat("", ["/run/kata-containers/shared/containers/", sandbox, "-0123456789abcdef-hosts"])
	agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as {"path": ok, "file_mode": 33188, "data": []}
	not agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as {"path": concat("", [ok, "/../x"]), "file_mode": 33188, "data": []}
	not agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as {"path": "/etc/hosts", "file_mode": 33188, "data": []}
}

test_exec_into_unknown_container_denied if {
	not agent_policy.ExecProcessRequest.allowed with data.agent_policy.policy_data as policy_data
		with input as {"container_id": sandbox, "exec_id": "1", "process": {"Args": ["sh"]}}
}

test_remove_container_drops_state if {
	r := agent_policy.RemoveContainerRequest with data.agent_policy.policy_data as policy_data
		with input as {"container_id": sandbox}
		with data.pstate as {"containers": {sandbox: {"index": 0}}}
	r.ops == [{"op": "remove", "path": concat("/", ["/pstate/containers", sandbox])}]
}

test_loopback_network_denied if {
	not agent_policy.UpdateInterfaceRequest.allowed with input as {"interface": {"name": "lo", "device": "lo", "IPAddresses": [], "raw_flags": 0}}
	agent_policy.UpdateInterfaceRequest.allowed with input as {"interface": {"name": "eth0", "device": "eth0", "hwAddr": "02:00:00:00:00:01", "IPAddresses": [{"address": "10.0.0.2"}], "raw_flags": 0}}
	not agent_policy.UpdateRoutesRequest.allowed with input as {"routes": {"Routes": [{"dest": "", "gateway": "10.0.0.1", "device": "eth0", "source": "127.0.0.1"}]}}
	not agent_policy.AddARPNeighborsRequest.allowed with input as {"neighbors": {"ARPNeighbors": [{"toIPAddress": {"address": "127.0.0.1"}, "device": "eth0", "state": 128, "flags": 0}]}}
}

# The agent gives the policy a PolicyCopyFileRequest: symlink target decoded, no data field.
policy_copy_file(path, mode, target) := {
	"path": path, "file_type": "Symlink", "symlink_target": target, "file_size": 0,
	"file_mode": mode, "dir_mode": 2147484136, "uid": 0, "gid": 0, "offset": 0,
}

# Symlinks live below a share (kubelet's `<share>/key -> ..data/key`), never as the share itself.
copy_policy_data := object.union(policy_data, {"copy_file": {"path_regexes": ["^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-[a-z.-]+(/[A-Za-z0-9._-]+)*$"]}})

test_copy_file_symlink_target_as_the_agent_sends_it if {
	path := concat("", ["/run/kata-containers/shared/containers/", sandbox, "-0123456789abcdef-config/hosts"])
	agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as copy_policy_data
		with input as policy_copy_file(path, 41471, "..data/hosts")
	not agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as copy_policy_data
		with input as policy_copy_file(path, 41471, "/etc/shadow")
	not agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as copy_policy_data
		with input as policy_copy_file(path, 41471, "../../../etc")
	not agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as copy_policy_data
		with input as policy_copy_file(path, 41471, null)
}

test_mount_type_is_read_from_type_underscore if {
	em := {"destination": "/proc", "type": "proc", "source_regex": "^proc$", "options": ["nosuid"]}
	agent_policy.mount_matches(em, {"destination": "/proc", "source": "proc", "type_": "proc", "options": ["nosuid"]}, "")
	not agent_policy.mount_matches(em, {"destination": "/proc", "source": "proc", "type_": "bind", "options": ["nosuid"]}, "")
	not agent_policy.mount_matches(em, {"destination": "/proc", "source": "proc", "type_": "bind", "type": "proc", "options": ["nosuid"]}, "")
}

# An exec'd process runs as the container's user and groups in its working directory; the Kata
# runtime sends no capabilities and NoNewPrivileges false (Kata's captures, state/execprocess).
exec_container := {
	"name": "app", "kind": "container", "exec_commands": [["/bin/probe"]],
	"process": {
		"uid": 1000, "gid": 1000, "additional_gids": [1000], "cwd": "/srv",
		"no_new_privileges": true, "env": [], "env_regexes": [],
		"capabilities": {"bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []},
	},
}

exec_request(process, string_user) := {
	"container_id": sandbox, "exec_id": "e", "string_user": string_user,
	"process": object.union(
		{
			"Terminal": false, "User": {"UID": 1000, "GID": 1000, "AdditionalGids": [1000], "Username": ""},
			"Args": ["/bin/probe"], "Env": [], "Cwd": "/srv",
			"Capabilities": null, "NoNewPrivileges": false, "ApparmorProfile": "", "SelinuxLabel": "",
		},
		process,
	),
}

exec_allowed(process, string_user) if {
	agent_policy.ExecProcessRequest.allowed with data.agent_policy.policy_data as object.union(policy_data, {"containers": [exec_container]})
		with input as exec_request(process, string_user)
		with data.pstate as {"containers": {sandbox: {"index": 0}}}
}

test_exec_keeps_the_container_user_groups_cwd_and_privileges if {
	exec_allowed({}, null)
	exec_allowed({}, {"uid": "1000", "gid": "1000", "additionalGids": []})
	not exec_allowed({"User": {"UID": 1000, "GID": 0, "AdditionalGids": [], "Username": ""}}, null)
	not exec_allowed({"User": {"UID": 1000, "GID": 1000, "AdditionalGids": [0], "Username": ""}}, null)
	not exec_allowed({"Cwd": "/tmp"}, null)
	not exec_allowed({"NoNewPrivileges": true}, null)
	not exec_allowed({"Capabilities": {"Bounding": [], "Effective": [], "Inheritable": [], "Permitted": [], "Ambient": []}}, null)
	not exec_allowed({"ApparmorProfile": "unconfined"}, null)
	not exec_allowed({}, {"uid": "0", "gid": "0", "additionalGids": []})
}

test_device_cgroup_rules_and_mount_labels_are_refused if {
	agent_policy.device_cgroup_rules_ok([], null)
	agent_policy.device_cgroup_rules_ok([], {"Devices": []})
	not agent_policy.device_cgroup_rules_ok([], {"Devices": [{"Allow": true, "Type": "a", "Major": -1, "Minor": -1, "Access": "rwm"}]})
	not agent_policy.device_cgroup_rules_ok([csi0], {"Devices": [{"Allow": true, "Type": "a", "Major": -1, "Minor": -1, "Access": "rwm"}]})
}

# Block devices (secure-pv): only the listed container path, only block devices, cgroup allow
# rules only for those devices.
secure_pv_container := {"devices": [{"container_path": "/dev/csi0"}]}

csi0 := {"Path": "/dev/csi0", "Type": "b", "Major": 253, "Minor": 0, "FileMode": 432, "UID": 0, "GID": 0}

test_devices_only_where_the_policy_lists_them if {
	agent_policy.oci_devices_ok(secure_pv_container, [csi0])
	agent_policy.oci_devices_ok(secure_pv_container, [])
	agent_policy.oci_devices_ok({}, [])
	not agent_policy.oci_devices_ok({}, [csi0])
	not agent_policy.oci_devices_ok(secure_pv_container, [object.union(csi0, {"Path": "/dev/vda"})])
	not agent_policy.oci_devices_ok(secure_pv_container, [object.union(csi0, {"Type": "c"})])
	not agent_policy.oci_devices_ok(secure_pv_container, [csi0, object.union(csi0, {"Path": "/dev/mem", "Type": "c"})])
}

test_agent_devices_only_block_at_listed_paths if {
	blk := {"id": "0000:00:05.0", "type_": "blk", "vm_path": "/dev/vdb", "container_path": "/dev/csi0", "options": []}
	agent_policy.agent_devices_ok(secure_pv_container, [blk], {})
	agent_policy.agent_devices_ok({}, [], {})
	not agent_policy.agent_devices_ok({}, [blk], {})
	not agent_policy.agent_devices_ok(secure_pv_container, [object.union(blk, {"type_": "vfio-pci"})], {})
	not agent_policy.agent_devices_ok(secure_pv_container, [object.union(blk, {"container_path": "/dev/vdb"})], {})
}

# A block device the agent finds by a guest path the host names (`mmioblk`, `nvdimm`: the agent
# takes `vm_path` as it is, device.rs virtiommio_blk_device_handler / virtio_nvdimm_device_handler)
# could be any block device of the guest: another volume's decrypted device-mapper device
# (`/dev/dm-0`), the guest's own disk. Only devices the agent finds by their hot-plug address
# (`blk`: PCI path, `scsi`: SCSI address, `blk-ccw`: CCW bus ID) are admitted.
test_block_devices_named_by_guest_path_are_refused if {
	blk := {"id": "0000:00:05.0", "type_": "blk", "vm_path": "/dev/vdb", "container_path": "/dev/csi0", "options": []}
	agent_policy.agent_devices_ok(secure_pv_container, [object.union(blk, {"type_": "scsi", "id": "0:0"})], {})
	agent_policy.oci_devices_hotplugged([csi0], [object.union(blk, {"type_": "scsi", "id": "0:0"})])
	every t in ["mmioblk", "nvdimm"] {
		not agent_policy.agent_devices_ok(secure_pv_container, [object.union(blk, {"type_": t, "id": "", "vm_path": "/dev/dm-0"})], {})
		not agent_policy.oci_devices_hotplugged([csi0], [object.union(blk, {"type_": t, "id": "", "vm_path": "/dev/dm-0"})])
	}
}

# GPUs through VFIO (`nvidia.com/pgpu: 2`), as in Kata's gpu_vfio_cdi captures: one
# `cdi.k8s.io/vfio<n>` annotation per GPU; no VFIO device (cold plug) or one per GPU (hot plug),
# each with its annotation, no path twice.
gpu_container := {"gpus": 2, "annotations": {}}

vfio(n) := {"container_path": concat("", ["/dev/vfio/devices/vfio", n]), "id": concat("", ["vfio", n]), "options": ["0000:65:00.0=06/00"], "type_": "vfio-pci-gk", "vm_path": ""}

cdi_annotations := {"cdi.k8s.io/vfio1": "nvidia.com/gpu=0", "cdi.k8s.io/vfio2": "nvidia.com/gpu=1"}

cdi_request(annotations) := {"OCI": {"Annotations": annotations}}

test_gpu_devices_and_cdi_annotations if {
	agent_policy.agent_devices_ok(gpu_container, [vfio("1"), vfio("2")], cdi_annotations)
	agent_policy.agent_devices_ok(gpu_container, [], cdi_annotations)
	agent_policy.annotations_ok(gpu_container, cdi_request(cdi_annotations))

	# Annotation count, number, suffix and value.
	not agent_policy.annotations_ok(gpu_container, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"}))
	not agent_policy.annotations_ok(gpu_container, cdi_request({}))
	not agent_policy.annotations_ok(gpu_container, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0", "cdi.k8s.io/vfioABC": "nvidia.com/gpu=1"}))
	not agent_policy.annotations_ok(gpu_container, cdi_request({"cdi.k8s.io/vfio1": "invalid-format", "cdi.k8s.io/vfio2": "nvidia.com/gpu=1"}))
	not agent_policy.annotations_ok(gpu_container, cdi_request(object.union(cdi_annotations, {"cdi.k8s.io/vfio3": "nvidia.com/gpu=2"})))
	not agent_policy.annotations_ok(gpu_container, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0", "cdi.k8s.io/vfio2": "nvidia.com/gpu=0"}))

	# Devices without their annotation, twice the same path, one of two, another type or path.
	not agent_policy.agent_devices_ok(gpu_container, [vfio("1"), vfio("3")], cdi_annotations)
	not agent_policy.agent_devices_ok(gpu_container, [vfio("1"), vfio("1")], cdi_annotations)
	not agent_policy.agent_devices_ok(gpu_container, [vfio("1")], cdi_annotations)
	not agent_policy.agent_devices_ok(gpu_container, [object.union(vfio("1"), {"type_": "vfio-pci"}), vfio("2")], cdi_annotations)
	not agent_policy.agent_devices_ok(gpu_container, [object.union(vfio("1"), {"container_path": "/dev/vfio/1"}), vfio("2")], cdi_annotations)

	# A container without GPUs gets neither.
	not agent_policy.agent_devices_ok({}, [vfio("1")], {"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"})
	not agent_policy.annotations_ok({"annotations": {}}, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"}))
}

test_device_cgroup_rules_only_for_own_devices if {
	agent_policy.device_cgroup_rules_ok([], null)
	agent_policy.device_cgroup_rules_ok([], {"Devices": []})
	agent_policy.device_cgroup_rules_ok([], {"Devices": [{"Allow": false, "Access": "rwm"}]})
	agent_policy.device_cgroup_rules_ok([csi0], {"Devices": [{"Allow": true, "Type": "b", "Major": 253, "Minor": 0, "Access": "rwm"}]})
	not agent_policy.device_cgroup_rules_ok([], {"Devices": [{"Allow": true, "Type": "b", "Major": 253, "Minor": 0, "Access": "rwm"}]})
	not agent_policy.device_cgroup_rules_ok([csi0], {"Devices": [{"Allow": true, "Type": "b", "Major": 8, "Minor": 0, "Access": "rwm"}]})
	not agent_policy.device_cgroup_rules_ok([csi0], {"Devices": [{"Allow": true, "Type": "c", "Major": 253, "Minor": 0, "Access": "rwm"}]})
	not agent_policy.device_cgroup_rules_ok([csi0], {"Devices": [{"Allow": true, "Access": "rwm"}]})

	# a major the agent reads as any (0 or less), named by an OCI device of the same numbers
	every major in [0, -1] {
		dev := object.union(csi0, {"Major": major, "Minor": 0})
		not agent_policy.device_cgroup_rules_ok([dev], {"Devices": [{"Allow": true, "Type": "b", "Major": major, "Minor": 0, "Access": "rwm"}]})
	}
}

# An OCI block device must be one the runtime hot-plugged (an agent device at its path, whose
# guest major and minor the agent puts on the node); without one the node has the request's
# numbers, any block device of the guest.
test_oci_block_devices_need_an_agent_device_at_their_path if {
	blk := {"id": "10/00", "type_": "blk", "vm_path": "/dev/vdb", "container_path": "/dev/csi0", "options": []}
	agent_policy.oci_devices_hotplugged([], [])
	agent_policy.oci_devices_hotplugged([csi0], [blk])
	not agent_policy.oci_devices_hotplugged([csi0], [])
	not agent_policy.oci_devices_hotplugged([csi0], [object.union(blk, {"container_path": "/dev/csi1"})])
	not agent_policy.oci_devices_hotplugged([csi0], [object.union(blk, {"type_": "vfio-pci-gk"})])
}

test_rootfs_shared_only_with_a_bidirectional_mount if {
	agent_policy.rootfs_propagation_ok({"mounts": []}, "rprivate")
	agent_policy.rootfs_propagation_ok({"mounts": []}, "rslave")
	not agent_policy.rootfs_propagation_ok({"mounts": []}, "rshared")
	not agent_policy.rootfs_propagation_ok({"mounts": [{"options": ["rbind", "rslave", "rw"]}]}, "rshared")
	agent_policy.rootfs_propagation_ok({"mounts": [{"options": ["rbind", "rshared", "rw"]}]}, "rshared")
	not agent_policy.rootfs_propagation_ok({"mounts": [{"options": ["rbind", "rshared", "rw"]}]}, "unbindable")
}

# Kata's block-encrypted emptyDir (`--emptydir-mode block-encrypted`): a blk storage the agent
# formats under an ephemeral key, with the pod's fsGroup.
blk_expected := {
	"driver": "blk",
	"fstype": "ext4",
	"source_regex": "^[0-9a-f]{2}(/[0-9a-f]{2})*$",
	"mount_point_regex": "^/run/kata-containers/sandbox/storage/[A-Za-z0-9+/=]+$",
	"option_regexes": [],
	"driver_option_regexes": ["^encryption_key=ephemeral$", "^create_filesystem$"],
	"fs_group": 1000,
}

blk_storage := {
	"driver": "blk",
	"driver_options": ["encryption_key=ephemeral", "create_filesystem"],
	"fs_group": {"group_id": 1000},
	"fstype": "ext4",
	"mount_point": "/run/kata-containers/sandbox/storage/MDAvMDA=",
	"options": [],
	"source": "00/00",
	"shared": true,
}

test_block_encrypted_emptydir_storage if {
	agent_policy.storage_matches(blk_expected, blk_storage, "gid")
	agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"fs_group": {"group_id": 1000, "group_change_policy": 1}}), "gid")

	# Without the ephemeral key the host's disk would hold the volume in plain text.
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"driver_options": ["create_filesystem"]}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"driver_options": ["encryption_key=ephemeral"]}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"driver_options": ["encryption_key=host", "create_filesystem"]}), "gid")

	# Another group, no group, an unknown fs_group field, another change policy.
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"fs_group": {"group_id": 0}}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"fs_group": null}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"fs_group": {"group_id": 1000, "mode": 511}}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"fs_group": {"group_id": 1000, "group_change_policy": 7}}), "gid")

	# A mount point outside the sandbox's storage directory, a source that is no PCI path.
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"mount_point": "/run/kata-containers/sandbox/storage/../shm"}), "gid")
	not agent_policy.storage_matches(blk_expected, object.union(blk_storage, {"source": "/dev/vda"}), "gid")

	# A policy without fsGroup admits no group.
	no_group := object.remove(blk_expected, ["fs_group"])
	agent_policy.storage_matches(no_group, object.union(blk_storage, {"fs_group": null}), "gid")
	not agent_policy.storage_matches(no_group, blk_storage, "gid")
}

# Mounts pair by destination when destinations are distinct; with a destination twice (on either
# side) every mount must match some expectation and every expectation some mount, as before.
proc_mount := {"destination": "/proc", "type": "proc", "source_regex": "^proc$", "options": ["nosuid", "noexec"]}

tmp_mount(source) := {"destination": "/tmp", "type": "bind", "source_regex": concat("", ["^", source, "$"]), "options": ["rbind"]}

got_mount(dest, type, source, options) := {"destination": dest, "type_": type, "source": source, "options": options}

test_mounts_pair_by_destination if {
	expected := [proc_mount, tmp_mount("/a")]
	got := [got_mount("/tmp", "bind", "/a", ["rbind"]), got_mount("/proc", "proc", "proc", ["noexec", "nosuid"])]
	agent_policy.mounts_paired(expected, got, "")
	not agent_policy.mounts_paired(expected, [got[0], got_mount("/proc", "proc", "proc", ["nosuid"])], "")
	not agent_policy.mounts_paired(expected, [got[0], got_mount("/tmp", "bind", "/a", ["rbind"])], "")
	not agent_policy.mounts_paired(expected, [got[0], got_mount("/sys", "proc", "proc", ["noexec", "nosuid"])], "")
}

test_mounts_with_a_destination_twice_match_both_ways if {
	expected := [tmp_mount("/a"), tmp_mount("/b")]
	agent_policy.mounts_paired(expected, [got_mount("/tmp", "bind", "/b", ["rbind"]), got_mount("/tmp", "bind", "/a", ["rbind"])], "")
	not agent_policy.mounts_paired(expected, [got_mount("/tmp", "bind", "/a", ["rbind"]), got_mount("/tmp", "bind", "/a", ["rbind"])], "")
	not agent_policy.mounts_paired(expected, [got_mount("/tmp", "bind", "/a", ["rbind"]), got_mount("/tmp", "bind", "/c", ["rbind"])], "")
}

# Equal lists are accepted at once; other orders of the same sets still are, other sets are not.
test_capabilities_and_mount_options_in_any_order if {
	want := {"bounding": ["CAP_A", "CAP_B"], "effective": ["CAP_A"], "inheritable": [], "permitted": ["CAP_A"], "ambient": []}
	agent_policy.capabilities_equal({"Bounding": ["CAP_A", "CAP_B"], "Effective": ["CAP_A"], "Permitted": ["CAP_A"]}, want)
	agent_policy.capabilities_equal({"Bounding": ["CAP_B", "CAP_A"], "Effective": ["CAP_A"], "Permitted": ["CAP_A"]}, want)
	not agent_policy.capabilities_equal({"Bounding": ["CAP_B", "CAP_A", "CAP_C"], "Effective": ["CAP_A"], "Permitted": ["CAP_A"]}, want)
	not agent_policy.capabilities_equal({"Bounding": ["CAP_B"], "Effective": ["CAP_A"], "Permitted": ["CAP_A"]}, want)
	agent_policy.mount_options_ok(proc_mount, ["nosuid", "noexec"])
	agent_policy.mount_options_ok(proc_mount, ["noexec", "nosuid"])
	not agent_policy.mount_options_ok(proc_mount, ["noexec", "nosuid", "dev"])
	not agent_policy.mount_options_ok(proc_mount, ["noexec"])
}

# The three ways capabilities_equal decides, each with the verdict of the set comparison: the lists
# as sent, the sent lists sorted (containerd's order against the sorted policy data), and the sets
# for what sorting leaves (a list sent twice over, policy data not sorted, Ambient null).
test_capabilities_sorted_then_sets if {
	want := {"bounding": ["CAP_A", "CAP_B", "CAP_C"], "effective": ["CAP_A", "CAP_B", "CAP_C"], "inheritable": [], "permitted": ["CAP_A", "CAP_B", "CAP_C"], "ambient": []}
	unsorted := ["CAP_C", "CAP_A", "CAP_B"]
	agent_policy.sorted_equal(unsorted, want.bounding)
	agent_policy.capabilities_equal({"Bounding": unsorted, "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": []}, want)
	not agent_policy.sorted_equal("CAP_A", ["CAP_A"])
	not agent_policy.sorted_equal(null, [])

	# same sets, not the same sorted lists
	twice := ["CAP_C", "CAP_A", "CAP_B", "CAP_A"]
	not agent_policy.sorted_equal(twice, want.bounding)
	agent_policy.capabilities_equal({"Bounding": twice, "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": null}, want)
	agent_policy.capabilities_equal({"Bounding": unsorted, "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": []}, object.union(want, {"bounding": ["CAP_B", "CAP_A", "CAP_C"]}))

	# other sets, and lists that are not lists
	not agent_policy.capabilities_equal({"Bounding": ["CAP_C", "CAP_A", "CAP_D"], "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": []}, want)
	not agent_policy.capabilities_equal({"Bounding": unsorted, "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": ["CAP_A"]}, want)
	not agent_policy.capabilities_equal({"Bounding": "CAP_A", "Effective": unsorted, "Inheritable": [], "Permitted": unsorted, "Ambient": []}, want)
}

# Masked and read-only paths: every expected path sent, in any order, and no other but the
# runtime's extras; the list as containerd orders it is decided by one comparison, any other by
# the scan.
test_paths_as_expected_in_any_order if {
	extra := {"/x"}
	agent_policy.paths_as_expected(["/a", "/b"], ["/a", "/b"], extra)
	agent_policy.paths_as_expected(["/a", "/b"], ["/a", "/b", "/x"], extra)
	agent_policy.paths_as_expected(["/a", "/b"], ["/b", "/x", "/a"], extra)
	agent_policy.paths_as_expected(["/a", "/b"], ["/b", "/a"], extra)
	agent_policy.paths_as_expected([], [], extra)
	agent_policy.paths_as_expected([], null, extra)
	agent_policy.paths_as_expected([], ["/x"], extra)
	not agent_policy.paths_as_expected(["/a", "/b"], ["/a", "/b", "/c"], extra)
	not agent_policy.paths_as_expected(["/a", "/b"], ["/b", "/c", "/a"], extra)
	not agent_policy.paths_as_expected(["/a", "/b"], ["/a", "/b", "/x"], set())
	not agent_policy.paths_as_expected([], ["/c"], extra)
	not agent_policy.paths_as_expected(["/a", "/b"], ["/a"], extra)
	not agent_policy.paths_as_expected(["/a", "/b"], ["/a", "/c"], extra)
	not agent_policy.paths_as_expected(["/a"], null, extra)
	not agent_policy.paths_as_expected(["/a"], "/a", extra)
}

# Variables with fixed values, pattern values, Secret values and env_regexes as before the set
# lookup: each kind allowed, a changed, extra or duplicated variable denied.
env_expectation := {
	"env": [{"name": "A", "value": "1"}, {"name": "P", "regex": "^web-[a-z0-9]{5}$"}, {"name": "S", "secret": true}],
	"env_regexes": ["^HOSTNAME=web$"],
}

test_environment_kinds if {
	ok := ["A=1", "P=web-abcde", "S=anything", "HOSTNAME=web"]
	env_ok(env_expectation, ok)
	agent_policy.env_complete(env_expectation, agent_policy.env_checked_names(env_expectation, ok))
	not env_ok(env_expectation, ["A=2", "P=web-abcde", "S=x"])
	not env_ok(env_expectation, ["A=1", "P=web-abcd", "S=x"])
	not env_ok(env_expectation, ["A=1", "P=web-abcde", "S=x", "EXTRA=1"])
	not env_ok(env_expectation, ["A=1", "A=1", "P=web-abcde", "S=x"])
	not env_ok(env_expectation, ["A=1", "P=web-abcde", "S=x", "HOSTNAME=webx"])
	not agent_policy.env_complete(env_expectation, agent_policy.env_checked_names(env_expectation, ["A=1", "P=web-abcde"]))
}

# A variable the pod declares keeps its declared value even where its name has a service link's
# shape: the host cannot replace `DB_PORT=5432` with a service-link value the env_regexes admit.
test_declared_variable_is_not_a_service_link if {
	e := {"env": [{"name": "DB_PORT", "value": "5432"}], "env_regexes": [agent_policy.service_link_env_pattern]}
	env_ok(e, ["DB_PORT=5432"])
	not env_ok(e, ["DB_PORT=tcp://10.9.9.9:1"])
	env_ok(e, ["DB_PORT=5432", "CACHE_PORT=tcp://10.0.0.2:6379"])
}

# A variable whose value holds a newline and then what reads as another service variable is one
# variable (A_PORT below, with a value of newline, `=` and `_`), which the service-link pattern
# refuses: the one-match shortcut over all variables (service_variables) must refuse it too, also
# next to admitted service links and in any position.
test_a_service_link_value_holding_a_newline_is_refused if {
	e := {"env": [{"name": "A", "value": "1"}], "env_regexes": [agent_policy.service_link_env_pattern]}
	env_ok(e, ["A=1", "FOO_SERVICE_HOST=10.0.0.1", "BAR_PORT=tcp://10.0.0.2:80"])
	not env_ok(e, ["A=1", "FOO_SERVICE_HOST=10.0.0.1\nLD_PRELOAD=/tmp/x.so"])
	not env_ok(e, ["FOO_SERVICE_HOST=10.0.0.1\nBAR_PORT=2"])
	not env_ok(e, ["FOO_SERVICE_HOST=10.0.0.1", "A_PORT=1\nB_PORT=2", "A=1"])
	not env_ok(e, ["A_PORT=1\nB_PORT=2", "FOO_SERVICE_HOST=10.0.0.1", "A=1"])
}

env_ok(e, env) if agent_policy.env_ok(e, env)

# GPUs across containers: the GPUs a created container holds are remembered in pstate with it, and
# another container of the pod asking for one of them is denied while the first exists.
gpu_state(held) := {"containers": {"c1": {"index": 0, "gpus": held}, "pause": {"index": 1}}}

test_a_gpu_held_by_another_container_is_not_given_again if {
	agent_policy.annotations_ok(gpu_container, cdi_request(cdi_annotations)) with data.pstate as gpu_state(["nvidia.com/gpu=2", "nvidia.com/gpu=3"])
	not agent_policy.annotations_ok(gpu_container, cdi_request(cdi_annotations)) with data.pstate as gpu_state(["nvidia.com/gpu=1"])
	not agent_policy.annotations_ok(gpu_container, cdi_request(cdi_annotations)) with data.pstate as gpu_state(["nvidia.com/gpu=0", "nvidia.com/gpu=7"])

	# Once the holder is removed (its pstate entry gone) the GPUs are free again.
	agent_policy.annotations_ok(gpu_container, cdi_request(cdi_annotations)) with data.pstate as {"containers": {"pause": {"index": 1}}}

	# A container without GPUs is not affected by what others hold.
	agent_policy.annotations_ok({"annotations": {}}, cdi_request({})) with data.pstate as gpu_state(["nvidia.com/gpu=0"])
}

# A restart: the kubelet creates a new instance of a container (new ID, same name) after the
# earlier one exited. Normally the shim's RemoveContainer for the earlier instance comes first
# (README); where it never came (a CreateContainer the agent allowed but failed), the new
# instance of the same container takes over the GPUs, while another container still may not.
restart_pd := {"containers": [
	{"name": "cuda", "gpus": 2, "annotations": {}},
	{"name": "train", "gpus": 1, "annotations": {}},
	{"name": "pause", "kind": "pause"},
]}

test_a_new_instance_of_the_same_container_takes_over_its_gpus if {
	cuda := restart_pd.containers[0]
	train := restart_pd.containers[1]
	held := {"containers": {"c1": {"index": 0, "gpus": ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]}, "p": {"index": 2}}}

	# cuda again (cuda', a restart) with GPUs 0 and 1, or only partly the same ones: allowed
	agent_policy.annotations_ok(cuda, cdi_request(cdi_annotations)) with data.pstate as held
		with data.agent_policy.policy_data as restart_pd
	agent_policy.annotations_ok(cuda, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=1", "cdi.k8s.io/vfio2": "nvidia.com/gpu=5"})) with data.pstate as held
		with data.agent_policy.policy_data as restart_pd

	# train asking for GPU 0 or 1, which cuda's instance holds: denied; GPU 2: allowed
	not agent_policy.annotations_ok(train, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"})) with data.pstate as held
		with data.agent_policy.policy_data as restart_pd
	not agent_policy.annotations_ok(train, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=1"})) with data.pstate as held
		with data.agent_policy.policy_data as restart_pd
	agent_policy.annotations_ok(train, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=2"})) with data.pstate as held
		with data.agent_policy.policy_data as restart_pd

	# After the takeover both cuda instances are remembered with GPU 0: train still may not have it.
	both := {"containers": {"c1": {"index": 0, "gpus": ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]}, "c2": {"index": 0, "gpus": ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]}}}
	not agent_policy.annotations_ok(train, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"})) with data.pstate as both
		with data.agent_policy.policy_data as restart_pd

	# cuda may not take GPU 2 while train holds it.
	by_train := {"containers": {"t1": {"index": 1, "gpus": ["nvidia.com/gpu=2"]}}}
	not agent_policy.annotations_ok(cuda, cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0", "cdi.k8s.io/vfio2": "nvidia.com/gpu=2"})) with data.pstate as by_train
		with data.agent_policy.policy_data as restart_pd
}

# The exit-then-restart sequence as the runtime sends it: CreateContainer cuda (GPU 0 and 1),
# RemoveContainer cuda (the state change the agent applies), CreateContainer cuda' with the same
# GPUs: allowed, and train with GPU 0 then too (the GPUs were released).
test_exit_then_restart_releases_and_regives_the_gpus if {
	created := {"containers": {"c1": {"index": 0, "gpus": ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]}, "p": {"index": 2}}}
	removal := agent_policy.RemoveContainerRequest with input as {"container_id": "c1"}
		with data.pstate as created
		with data.agent_policy.policy_data as restart_pd
	removal.allowed
	after := json.patch({"pstate": created}, removal.ops).pstate
	after == {"containers": {"p": {"index": 2}}}
	agent_policy.annotations_ok(restart_pd.containers[0], cdi_request(cdi_annotations)) with data.pstate as after
		with data.agent_policy.policy_data as restart_pd
	agent_policy.annotations_ok(restart_pd.containers[1], cdi_request({"cdi.k8s.io/vfio1": "nvidia.com/gpu=0"})) with data.pstate as after
		with data.agent_policy.policy_data as restart_pd
}

test_a_gpu_container_remembers_its_gpus if {
	pd := {"containers": [gpu_container, {"annotations": {}}]}
	req := {"container_id": "c1", "OCI": {"Annotations": object.union(cdi_annotations, {"io.kubernetes.cri.container-name": "gpu"})}}
	agent_policy.container_state(0, req) == {"index": 0, "gpus": ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]} with data.agent_policy.policy_data as pd
	agent_policy.container_state(1, req) == {"index": 1} with data.agent_policy.policy_data as pd
}

# The sandbox's /dev/shm storage or none (genpolicy accepts none); never another storage, and the
# sandbox ID stays required (every container is tied to it).
shm_storage := {"driver": "ephemeral", "driver_options": [], "source": "shm", "fstype": "tmpfs", "options": ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864"], "mount_point": "/run/kata-containers/sandbox/shm", "fs_group": null}

shm_policy_data := object.union(policy_data, {"sandbox": {"storages": [{
	"driver": "ephemeral", "fstype": "tmpfs", "source_regex": "^shm$",
	"mount_point_regex": "^/run/kata-containers/sandbox/shm$",
	"option_regexes": ["^noexec$", "^nosuid$", "^nodev$", "^mode=1777$", "^size=[0-9]+$"],
	"driver_option_regexes": [],
}]}})

test_create_sandbox_with_its_shm_storage_or_none if {
	agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as shm_policy_data
		with input as object.union(sandbox_request, {"storages": [shm_storage]})
	agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as shm_policy_data
		with input as sandbox_request
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as shm_policy_data
		with input as object.union(sandbox_request, {"storages": [object.union(shm_storage, {"mount_point": "/run/kata-containers/sandbox/other"})]})
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as shm_policy_data
		with input as object.union(sandbox_request, {"storages": [shm_storage, object.union(shm_storage, {"mount_point": "/x"})]})
	not agent_policy.CreateSandboxRequest.allowed with data.agent_policy.policy_data as shm_policy_data
		with input as object.remove(sandbox_request, ["sandbox_id"])
}
