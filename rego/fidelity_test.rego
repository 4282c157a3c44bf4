# Tests of the rules' handling of what real Kata agents receive (issue 12): exec probes, runtime
# version differences, CopyFile file types, interface flags, route and neighbour checks. Run with
# `opa test rego/`.
package agent_policy_fidelity_test

import rego.v1

import data.agent_policy

cid := concat("", [x | some _ in numbers.range(1, 64); x := "b"])

share := concat("", ["/run/kata-containers/shared/containers/", cid, "-0123456789abcdef-foo"])

copy_data := {
	"pod": {"namespace": "ns", "sandbox_name_regex": "^web$", "hostname_regex": "^web$", "sandbox_pidns": false},
	"containers": [],
	"sandbox": {"storages": []},
	"copy_file": {"path_regexes": ["^/run/kata-containers/shared/containers/[A-Za-z0-9][A-Za-z0-9_.-]+-[a-z0-9]{16}-[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$"]},
	"exec": {"allowed_commands": []},
	"requests": {},
}

copy_allowed(req) if agent_policy.CopyFileRequest.allowed with data.agent_policy.policy_data as copy_data with input as req

test_copy_file_regular_directory_symlink_below_share if {
	copy_allowed({"path": share, "file_type": "Regular"})
	copy_allowed({"path": share, "file_type": "Directory"})
	copy_allowed({"path": concat("/", [share, "lnk"]), "file_type": "Symlink", "symlink_target": "abc"})
	copy_allowed({"path": concat("/", [share, "lnk"]), "file_type": "Symlink", "symlink_target": "..data/key"})
}

test_copy_file_denies_other_types_and_top_level_symlinks if {
	not copy_allowed({"path": concat("/", [share, "bar"]), "file_type": "Unknown"})
	not copy_allowed({"path": share, "file_type": "Symlink", "symlink_target": "abc"})

	# Without file_type (raw form), the type comes from the mode: a socket, a FIFO are refused.
	not copy_allowed({"path": share, "file_mode": 49645})
	not copy_allowed({"path": share, "file_mode": 4516})
	copy_allowed({"path": share, "file_mode": 33188})
}

test_copy_file_denies_escaping_symlinks if {
	lnk := concat("/", [share, "lnk"])
	every target in ["../abc", "a/../../b", "foo/..", "..", "/abc"] {
		not copy_allowed({"path": lnk, "file_type": "Symlink", "symlink_target": target})
	}
}

iface := {
	"IPAddresses": [{"address": "10.244.0.14", "family": 0, "mask": "24"}],
	"device": "eth0", "hwAddr": "66:74:9f:6a:96:01", "mtu": 1500, "name": "eth0", "raw_flags": 0,
}

iface_allowed(i) if agent_policy.UpdateInterfaceRequest.allowed with input as {"interface": i}

test_update_interface_flags_and_mac if {
	iface_allowed(iface)
	iface_allowed(object.union(iface, {"raw_flags": 128}))
	not iface_allowed(object.union(iface, {"raw_flags": 64}))
	not iface_allowed(object.union(iface, {"raw_flags": 8}))
	not iface_allowed(object.union(iface, {"raw_flags": 136}))
	not iface_allowed(object.union(iface, {"hwAddr": "00:00:00:00:00:00"}))
	not iface_allowed(object.union(iface, {"hwAddr": "not-a-mac"}))
	not iface_allowed(object.union(iface, {"hwAddr": "66:74:9f:6a:96:0g"}))
	not iface_allowed(object.union(iface, {"hwAddr": "66:74:9f:6a:9601x"}))
	not iface_allowed(object.union(iface, {"raw_flags": 129}))
	not iface_allowed(object.union(iface, {"raw_flags": 1}))
	not iface_allowed(object.union(iface, {"raw_flags": "0"}))
	not iface_allowed(object.union(iface, {"raw_flags": -128}))
}

route(source) := {"dest": "", "device": "eth0", "family": 0, "gateway": "10.244.0.1", "scope": 0, "source": source}

routes_allowed(rs) if agent_policy.UpdateRoutesRequest.allowed with input as {"routes": {"Routes": rs}}

test_update_routes_loopback_by_value if {
	routes_allowed([route("")])
	routes_allowed([route("10.0.0.1")])
	routes_allowed([route("fe80::1")])
	every a in ["127.0.0.1", "127.9.9.9/8", "::1", "00::001", "0:0:0:0:0:0:0:1", "0000::0001/128", "::FFFF:127.0.0.1", "::ffff:7f00:1"] {
		not routes_allowed([route(a)])
	}
}

neighbour(state, flags) := {"device": "eth0", "flags": flags, "lladdr": "00:00:5e:00:53:01", "state": state, "toIPAddress": {"address": "10.0.0.1", "family": 0, "mask": ""}}

neighbours_allowed(ns) if agent_policy.AddARPNeighborsRequest.allowed with input as {"neighbors": {"ARPNeighbors": ns}}

test_arp_neighbour_state_and_flags if {
	neighbours_allowed([neighbour(128, 0)])
	neighbours_allowed([neighbour(2, 0)])
	neighbours_allowed([neighbour(128, 8)])
	neighbours_allowed([neighbour(128, 128)])
	not neighbours_allowed([neighbour(0, 0)])
	not neighbours_allowed([neighbour(4, 0)])
	not neighbours_allowed([neighbour(128, 5)])
	neighbours_allowed([neighbour(2, 136)])
	not neighbours_allowed([neighbour(130, 0)])
	not neighbours_allowed([neighbour(1, 0)])
	not neighbours_allowed([neighbour("128", 0)])
	not neighbours_allowed([neighbour(128, 9)])
	not neighbours_allowed([neighbour(128, 137)])
	not neighbours_allowed([neighbour(128, -8)])
	not neighbours_allowed([neighbour(128, "0")])
	not neighbours_allowed([neighbour(128, 0), neighbour(128, 1)])
}

# Verdicts for absent fields and fields of another type, whatever way the rules read them: an
# absent name, device, address or flags field is no loopback and no flag; an absent MAC address or
# neighbour state is refused; a name, device or address of another type is no loopback, flags, a
# state or a MAC address of another type are refused, and so is a list element or a toIPAddress
# that is not an object.
test_network_absent_and_mistyped_fields if {
	iface_allowed(object.remove(iface, ["name", "device", "IPAddresses", "raw_flags"]))
	iface_allowed(object.union(iface, {"IPAddresses": [{"family": 0}, {"address": 127}]}))
	not iface_allowed(object.union(iface, {"IPAddresses": ["10.0.0.1"]}))
	iface_allowed(object.union(iface, {"name": ["lo"], "device": {"lo": "lo"}}))
	not iface_allowed(object.remove(iface, ["hwAddr"]))
	not iface_allowed(object.union(iface, {"hwAddr": 12}))
	not iface_allowed(object.union(iface, {"raw_flags": null}))
	not iface_allowed(object.union(iface, {"raw_flags": [0]}))
	not iface_allowed(object.union(iface, {"name": "lo"}))
	not iface_allowed(object.union(iface, {"device": "lo"}))
	routes_allowed([{}])
	routes_allowed([{"device": 1, "source": 127, "gateway": null, "dest": ["::1"]}])
	not routes_allowed([object.union(route(""), {"device": "lo"})])
	not routes_allowed([object.union(route(""), {"gateway": "127.0.0.1"})])
	not routes_allowed([object.union(route(""), {"dest": "::1"})])
	neighbours_allowed([object.remove(neighbour(128, 0), ["device", "toIPAddress", "flags"])])
	not neighbours_allowed([object.union(neighbour(2, 0), {"toIPAddress": "10.0.0.1"})])
	not neighbours_allowed(["10.0.0.1"])
	not routes_allowed(["10.0.0.1"])
	neighbours_allowed([object.union(neighbour(2, 0), {"toIPAddress": {"address": 127}})])
	not neighbours_allowed([object.remove(neighbour(128, 0), ["state"])])
	not neighbours_allowed([neighbour(null, 0)])
	not neighbours_allowed([neighbour(128, null)])
	not neighbours_allowed([object.union(neighbour(128, 0), {"device": "lo"})])
}

test_mount_optional_options if {
	em := {"options": ["nosuid", "ro"], "optional_options": ["nsdelegate"]}
	agent_policy.mount_options_ok(em, ["ro", "nosuid"])
	agent_policy.mount_options_ok(em, ["ro", "nosuid", "nsdelegate"])
	not agent_policy.mount_options_ok(em, ["ro", "nosuid", "rw"])
	not agent_policy.mount_options_ok(em, ["nosuid", "nsdelegate"])
	not agent_policy.mount_options_ok({"options": ["ro"]}, ["ro", "nsdelegate"])
}

test_sysctls_defaults_optional_pod_ones_required if {
	c := {"sysctls": {"a": "0", "b": "1"}, "optional_sysctls": ["a"]}
	agent_policy.sysctls_ok(c, {"a": "0", "b": "1"})
	agent_policy.sysctls_ok(c, {"b": "1"})
	not agent_policy.sysctls_ok(c, {})
	not agent_policy.sysctls_ok(c, {"a": "1", "b": "1"})
	not agent_policy.sysctls_ok(c, {"b": "1", "c": "2"})
	not agent_policy.sysctls_ok({"sysctls": {"a": "0"}}, {})
}

exec_process := {"User": {"UID": 0, "GID": 0, "AdditionalGids": [0]}, "Cwd": "/", "Capabilities": null, "NoNewPrivileges": false, "ApparmorProfile": "", "SelinuxLabel": ""}

exec_expectation := {"uid": 0, "gid": 0, "additional_gids": [0], "cwd": "/", "no_new_privileges": true}

test_exec_process_as_the_runtime_sends_it if {
	# Capabilities null and NoNewPrivileges false, even for a container with no_new_privileges.
	agent_policy.exec_process_like_container(exec_expectation, exec_process)
	not agent_policy.exec_process_like_container(exec_expectation, object.union(exec_process, {"NoNewPrivileges": true}))
	not agent_policy.exec_process_like_container(exec_expectation, object.union(exec_process, {"Capabilities": {"Bounding": ["CAP_CHOWN"]}}))
	not agent_policy.exec_process_like_container(exec_expectation, object.union(exec_process, {"Cwd": "/tmp"}))
	not agent_policy.exec_process_like_container(exec_expectation, object.union(exec_process, {"ApparmorProfile": "unconfined"}))
}

test_apparmor_default_profile_only if {
	"cri-containerd.apparmor.d" in agent_policy.apparmor_profiles_allowed
	not "unconfined" in agent_policy.apparmor_profiles_allowed
}
