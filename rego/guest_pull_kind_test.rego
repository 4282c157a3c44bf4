# A guest-pull storage's metadata (the JSON after `image_guest_pull=`) decides in the agent
# whether the storage's image is pulled or the guest's built-in pause image is unpacked in its
# place (confidential_data_hub/image.rs is_sandbox: `io.kubernetes.cri.container-type` or
# `io.kubernetes.cri-o.ContainerType` with the value `sandbox`). The policy's option pattern
# (`^image_guest_pull=.*$`) admitted any metadata, so the host could mark an app container's
# storage as the sandbox's: the pinned image is never pulled and the container runs on the pause
# image's root filesystem; or leave the pause container's unmarked: `pause` is pulled by name from
# a registry. The fixture pod's legitimate requests are replayed with their metadata changed.
# Run with `opa test rego/`.
package agent_policy_guest_pull_kind_test

import rego.v1

fixture := data.cases.fixture_pod

case_named(name) := [c | some c in fixture.cases; c.name == name][0]

pause_case := case_named("legitimate CreateContainerRequest pause")

app_case := case_named("legitimate CreateContainerRequest app")

verdict(c, request) := r.allowed if {
	r := data.agent_policy.CreateContainerRequest with input as request
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as c.state
}

pull_at(request) := [i | some i, s in request.storages; s.driver == "image_guest_pull"][0]

# The request with the guest-pull storage's only driver option set to `option`.
with_option(request, option) := json.patch(request, [{
	"op": "replace",
	"path": sprintf("/storages/%d/driver_options", [pull_at(request)]),
	"value": [option],
}])

metadata_of(request) := json.unmarshal(trim_prefix(request.storages[pull_at(request)].driver_options[0], "image_guest_pull=")).metadata

# The request with its metadata merged with `changes` (JSON text written by json.marshal).
with_metadata(request, changes) := with_option(request, concat("", [
	"image_guest_pull=",
	json.marshal({"metadata": object.union(metadata_of(request), changes)}),
]))

test_the_legitimate_requests_are_allowed if {
	verdict(pause_case, pause_case.input)
	verdict(app_case, app_case.input)
	metadata_of(pause_case.input)["io.kubernetes.cri.container-type"] == "sandbox"
	metadata_of(app_case.input)["io.kubernetes.cri.container-type"] == "container"

	# the same metadata written again (key order, spacing) is the same request to the agent
	verdict(app_case, with_metadata(app_case.input, {}))

	# `sandbox` as the value of another key (a pod named so) is decoded and admitted
	verdict(app_case, with_metadata(app_case.input, {"io.kubernetes.cri.sandbox-name": "sandbox"}))
	verdict(app_case, with_metadata(app_case.input, {"io.kubernetes.cri.container-type": "container"}))
}

test_an_app_container_whose_image_storage_is_marked_as_the_sandbox_is_denied if {
	not verdict(app_case, with_metadata(app_case.input, {"io.kubernetes.cri.container-type": "sandbox"}))
	not verdict(app_case, with_metadata(app_case.input, {"io.kubernetes.cri-o.ContainerType": "sandbox"}))

	# a key given twice: the agent's JSON reader (serde) keeps the last value, as the rules' does
	meta := json.marshal(metadata_of(app_case.input))
	twice := concat("", [
		`image_guest_pull={"metadata":`,
		trim_suffix(meta, "}"), `,"io.kubernetes.cri.container-type":"sandbox"}}`,
	])
	not verdict(app_case, with_option(app_case.input, twice))

	# an escaped spelling of the value
	escaped := replace(
		app_case.input.storages[pull_at(app_case.input)].driver_options[0],
		`"io.kubernetes.cri.container-type":"container"`,
		`"io.kubernetes.cri.container-type":"sandbo\u0078"`,
	)
	escaped != app_case.input.storages[pull_at(app_case.input)].driver_options[0]
	not verdict(app_case, with_option(app_case.input, escaped))
}

test_a_pause_container_whose_image_storage_is_not_marked_as_the_sandbox_is_denied if {
	not verdict(pause_case, with_metadata(pause_case.input, {"io.kubernetes.cri.container-type": "container"}))
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull={"metadata":{}}`))
}

test_pause_metadata_the_agent_cannot_read_is_denied if {
	# (an app container's unreadable metadata fails in the agent, which then pulls nothing; only the
	# pause container's must be read as the sandbox's)
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull={"metadata":`))
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull={"metadata":null}`))
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull={}`))
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull=[]`))
	not verdict(pause_case, with_option(pause_case.input, `image_guest_pull={"metadata":["io.kubernetes.cri.container-type","sandbox"]}`))
}
