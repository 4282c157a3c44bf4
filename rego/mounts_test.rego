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
