# Mounts a request may lack, and what stays denied. The fixture pod's app container: without its
# optional mounts (kernel filesystems, the shares whose content the host provides) it is allowed,
# as genpolicy allows it; without the guest's own data (/dev, /dev/shm, the /contrast emptyDir the
# setup container fills) it is denied. The root path names the container itself.
# Run with `opa test rego/`.
package agent_policy_mounts_test

import rego.v1

fixture := data.cases.fixture_pod

app_case := [c | some c in fixture.cases; c.name == "legitimate CreateContainerRequest app"][0]

verdict(request) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as request
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as app_case.state
}

app_expectation := [c | some c in fixture.policy_data.containers; c.name == "app"][0]

optional_destinations := {em.destination | some em in app_expectation.mounts; em.optional == true}

without(request, destinations) := json.patch(request, [{"op": "replace", "path": "/OCI/Mounts", "value": [m |
	some m in request.OCI.Mounts
	not m.destination in destinations
]}])

test_the_optional_mounts_are_the_kernel_filesystems_and_host_shares if {
	optional_destinations == {
		"/proc", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/etc/hosts",
		"/dev/termination-log", "/etc/hostname", "/etc/resolv.conf", "/etc/app",
		"/var/run/secrets/kubernetes.io/serviceaccount",
	}
}

test_optional_mounts_may_be_missing if {
	verdict(app_case.input)
	verdict(without(app_case.input, optional_destinations))
	every d in optional_destinations {
		verdict(without(app_case.input, {d}))
	}
}

test_the_guests_own_data_may_not_be_missing if {
	every d in ["/dev", "/dev/shm", "/contrast"] {
		not verdict(without(app_case.input, {d}))
		not verdict(without(app_case.input, optional_destinations | {d}))
	}
}

# Fewer mounts do not open a door for other ones: a mount sent in place of a missing one, a changed
# one or one destination twice is denied as with the full list.
test_fewer_mounts_still_match_their_expectations if {
	fewer := without(app_case.input, {"/etc/hosts", "/etc/hostname"})
	verdict(fewer)
	extra := {"destination": "/etc/extra", "type_": "bind", "source": "/run/kata-containers/shared/containers/x", "options": ["rbind", "rw"]}
	not verdict(json.patch(fewer, [{"op": "add", "path": "/OCI/Mounts/-", "value": extra}]))
	hosts := [m | some m in app_case.input.OCI.Mounts; m.destination == "/etc/hosts"][0]
	not verdict(json.patch(fewer, [{"op": "add", "path": "/OCI/Mounts/-", "value": object.union(hosts, {"destination": "/etc/hostname"})}]))
	not verdict(json.patch(fewer, [{"op": "add", "path": "/OCI/Mounts/-", "value": [m | some m in app_case.input.OCI.Mounts; m.destination == "/etc/app"][0]}]))
	not verdict(json.patch(fewer, [{"op": "add", "path": "/OCI/Mounts/-", "value": object.union(hosts, {"options": ["rbind", "rw"]})}]))
}

# Without a guest-pull storage (host pull) the agent bind-mounts the root path as the root
# filesystem (setup_bundle, when /run/kata-containers/<container_id>/rootfs is absent): a root path
# naming another container's bundle would run this container on that container's files. The
# termination log is a share like /etc/hosts (its content goes to the host): any container's name
# is accepted there, as genpolicy does.
test_root_path_of_another_container_is_denied_its_termination_log_accepted if {
	host_pull_pd := json.patch(fixture.policy_data, [{"op": "replace", "path": "/containers/2/storages", "value": [s | some s in fixture.policy_data.containers[2].storages; s.driver != "image_guest_pull"]}])
	fixture.policy_data.containers[2].name == "app"
	host_pull := json.patch(app_case.input, [{"op": "replace", "path": "/storages", "value": [s | some s in app_case.input.storages; s.driver != "image_guest_pull"]}])
	data.agent_policy.CreateContainerRequest.allowed with input as host_pull
		with data.agent_policy.policy_data as host_pull_pd
		with data.pstate as app_case.state
	other := app_case.state.sandbox_id
	other_root := json.patch(host_pull, [{"op": "replace", "path": "/OCI/Root/Path", "value": concat("", ["/run/kata-containers/", other, "/rootfs"])}])
	not data.agent_policy.CreateContainerRequest.allowed with input as other_root
		with data.agent_policy.policy_data as host_pull_pd
		with data.pstate as app_case.state
	log := [i | some i, m in app_case.input.OCI.Mounts; m.destination == "/dev/termination-log"][0]
	other_log := replace(app_case.input.OCI.Mounts[log].source, app_case.input.container_id, other)
	verdict(json.patch(app_case.input, [{"op": "replace", "path": concat("/", ["/OCI/Mounts", format_int(log, 10), "source"]), "value": other_log}]))
}

# The image-name annotation is informational (the agent never reads it; the guest pulls what the
# guest-pull storage names, which the policy pins): it may be missing, but when sent it must name
# the pinned image.
test_the_image_name_annotation_may_be_missing_but_not_wrong if {
	key := "io.kubernetes.cri.image-name"
	verdict(json.patch(app_case.input, [{"op": "remove", "path": concat("/", ["/OCI/Annotations", replace(key, "/", "~1")])}]))
	not verdict(json.patch(app_case.input, [{"op": "replace", "path": concat("/", ["/OCI/Annotations", replace(key, "/", "~1")]), "value": "docker.io/library/busybox:latest"}]))
	storage := [i | some i, s in app_case.input.storages; s.driver == "image_guest_pull"][0]
	not verdict(json.patch(app_case.input, [{"op": "replace", "path": concat("/", ["/storages", format_int(storage, 10), "source"]), "value": "docker.io/library/busybox:latest"}]))
}

# Mount order: the agent mounts in list order, so a mount followed by one at a parent directory of
# its destination is covered by it. The attack: a configMap share at /etc/app and a guest emptyDir
# at /etc/app/keys, sent `[/etc/app/keys, /etc/app]`: the host's share would cover the keys. The
# fixture's /contrast emptyDir is moved to /etc/app/keys, as generate would list it (the pair
# [/etc/app, /etc/app/keys] in mount_order; tests/policy/mount_order_test.ts generates it).
app_index := [i | some i, c in fixture.policy_data.containers; c.name == "app"][0]

sent_at(request, destination) := [i | some i, m in request.OCI.Mounts; m.destination == destination][0]

expected_at(destination) := [i | some i, m in app_expectation.mounts; m.destination == destination][0]

keys_policy_data := json.patch(fixture.policy_data, [
	{"op": "replace", "path": sprintf("/containers/%d/mounts/%d/destination", [app_index, expected_at("/contrast")]), "value": "/etc/app/keys"},
	{"op": "add", "path": sprintf("/containers/%d/mount_order/-", [app_index]), "value": ["/etc/app", "/etc/app/keys"]},
])

keys_verdict(request, pd) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as request
		with data.agent_policy.policy_data as pd
		with data.pstate as app_case.state
}

# The request with the emptyDir at /etc/app/keys, sent right after (legitimate) or before /etc/app.
keys_request(keys_first) := json.patch(app_case.input, [{"op": "replace", "path": "/OCI/Mounts", "value": array.concat(
	[m | some m in app_case.input.OCI.Mounts; not m.destination in {"/contrast", "/etc/app"}],
	ordered_pair(keys_first),
)}])

keys_mount := object.union(app_case.input.OCI.Mounts[sent_at(app_case.input, "/contrast")], {"destination": "/etc/app/keys"})

share_mount := app_case.input.OCI.Mounts[sent_at(app_case.input, "/etc/app")]

ordered_pair(true) := [keys_mount, share_mount]

ordered_pair(false) := [share_mount, keys_mount]

test_a_guest_mount_nested_under_a_share_must_come_after_it if {
	keys_verdict(keys_request(false), keys_policy_data)
	not keys_verdict(keys_request(true), keys_policy_data)

	# Without the share (it is optional) the nested mount stands alone.
	keys_verdict(without(keys_request(true), {"/etc/app"}), keys_policy_data)
}

test_nested_default_mounts_reordered_or_the_whole_list_reversed_are_denied if {
	mounts := app_case.input.OCI.Mounts
	verdict(app_case.input)
	not verdict(json.patch(app_case.input, [{"op": "replace", "path": "/OCI/Mounts", "value": array.reverse(mounts)}]))
	dev := sent_at(app_case.input, "/dev")
	shm := sent_at(app_case.input, "/dev/shm")
	dev < shm

	# /dev's tmpfs moved right after /dev/shm: it would cover the pod's shared memory.
	moved := array.concat(array.concat(array.slice(mounts, 0, dev), array.slice(mounts, dev + 1, shm + 1)), array.concat([mounts[dev]], array.slice(mounts, shm + 1, count(mounts))))
	count(moved) == count(mounts)
	not verdict(json.patch(app_case.input, [{"op": "replace", "path": "/OCI/Mounts", "value": moved}]))

	# Mounts that are not nested may come in any order (/etc/hosts and /etc/hostname swapped).
	hosts := sent_at(app_case.input, "/etc/hosts")
	hostname := sent_at(app_case.input, "/etc/hostname")
	verdict(json.patch(app_case.input, [
		{"op": "replace", "path": sprintf("/OCI/Mounts/%d", [hosts]), "value": mounts[hostname]},
		{"op": "replace", "path": sprintf("/OCI/Mounts/%d", [hostname]), "value": mounts[hosts]},
	]))
}

# Policy data without mount_order (written by hand): every pair of sent mounts is compared.
test_without_mount_order_every_pair_of_sent_mounts_is_compared if {
	pd := json.patch(keys_policy_data, [{"op": "remove", "path": sprintf("/containers/%d/mount_order", [app_index])}])
	keys_verdict(keys_request(false), pd)
	not keys_verdict(keys_request(true), pd)
	not keys_verdict(json.patch(app_case.input, [{"op": "replace", "path": "/OCI/Mounts", "value": array.reverse(app_case.input.OCI.Mounts)}]), pd)
}

# A destination sent twice (only policy data with a destination twice pairs such a list): the later
# mount covers the earlier one, so two different mounts there are denied in either order; the
# same mount twice covers nothing.
test_a_destination_sent_twice_with_different_mounts_is_denied if {
	a := {"destination": "/tmp", "type_": "bind", "source": "/a", "options": ["rbind"]}
	b := {"destination": "/tmp", "type_": "bind", "source": "/b", "options": ["rbind"]}
	c := {"mount_order": []}
	not data.agent_policy.mounts_in_order(c, [a, b])
	not data.agent_policy.mounts_in_order(c, [b, a])
	data.agent_policy.mounts_in_order(c, [a, a])

	# Without mount_order, "/" is the parent of every other destination.
	root := object.union(a, {"destination": "/"})
	data.agent_policy.mounts_in_order({}, [root, a])
	not data.agent_policy.mounts_in_order({}, [a, root])
}
