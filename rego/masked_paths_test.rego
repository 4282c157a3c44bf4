# Masked and read-only paths (review-policy). The agent masks the paths after the container's
# mounts and after pivoting into its root (rustjail finish_rootfs: /dev/null bound over a file,
# a read-only tmpfs over a directory), so a masked path the runtime never sends hides whatever is
# there in the container: a volume (`/contrast`, where the Initializer wrote the workload's key,
# certificates and workload secret), or a file of the pinned image (a TLS configuration, a CA
# bundle) replaced by an empty one. Only the paths the policy expects, and those the runtime adds
# by version (containerd 2's `/sys/devices/virtual/powercap`), may be masked; a read-only path
# only where the policy expects one.
# Run with `opa test rego/`.
package agent_policy_masked_paths_test

import rego.v1

fixture := data.cases.fixture_pod

app_case := [c | some c in fixture.cases; c.name == "legitimate CreateContainerRequest app"][0]

verdict(field, paths) := r.allowed if {
	req := json.patch(app_case.input, [{"op": "replace", "path": concat("/", ["/OCI/Linux", field]), "value": paths}])
	r := data.agent_policy.CreateContainerRequest with input as req
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as app_case.state
}

masked := app_case.input.OCI.Linux.MaskedPaths

readonly := app_case.input.OCI.Linux.ReadonlyPaths

test_the_runtimes_paths_are_allowed if {
	verdict("MaskedPaths", masked)
	verdict("ReadonlyPaths", readonly)

	# containerd 1.7 does not mask powercap; containerd 2 does, at the end or before /proc/scsi
	verdict("MaskedPaths", [p | some p in masked; p != "/sys/devices/virtual/powercap"])
	verdict("MaskedPaths", array.reverse(masked))
}

test_a_volume_or_image_file_may_not_be_masked if {
	every p in ["/contrast", "/contrast/tls-config", "/etc/app", "/etc/ssl/certs/ca-certificates.crt", "/proc/self/root/contrast", "/proc/tampered", "/sys/../contrast"] {
		not verdict("MaskedPaths", array.concat(masked, [p]))
		not verdict("MaskedPaths", array.concat([p], masked))
	}
}

test_an_extra_read_only_path_is_refused if {
	every p in ["/contrast", "/tmp", "/proc/sys/kernel"] {
		not verdict("ReadonlyPaths", array.concat(readonly, [p]))
	}
}

test_an_expected_path_may_not_be_missing if {
	not verdict("MaskedPaths", array.slice(masked, 1, count(masked)))
	not verdict("ReadonlyPaths", array.slice(readonly, 1, count(readonly)))
}
