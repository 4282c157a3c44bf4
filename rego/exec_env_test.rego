# An exec'd probe or lifecycle hook runs with the container's whole environment (containerd copies
# the container's process and changes only its arguments and terminal): a variable the container
# must have may not be missing from it either. The fixture pod's app container's probe.
# Run with `opa test rego/`.
package agent_policy_exec_env_test

import rego.v1

fixture := data.cases.fixture_pod

exec_case := [c | some c in fixture.cases; c.name == "legitimate ExecProcessRequest app"][0]

verdict(env) := r.allowed if {
	req := json.patch(exec_case.input, [{"op": "replace", "path": "/process/Env", "value": env}])
	r := data.agent_policy.ExecProcessRequest with input as req
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as exec_case.state
}

env := exec_case.input.process.Env

test_the_probe_with_the_containers_environment_is_allowed if {
	verdict(env)
}

test_a_variable_of_the_pod_or_image_may_not_be_missing if {
	every name in ["PATH", "APP_MODE", "LEVEL"] {
		not verdict([v | some v in env; not startswith(v, concat("", [name, "="]))])
	}
}

# What the runtime adds and the policy cannot expect by value (the host's service links) may be
# missing, as for the container.
test_a_service_link_may_be_missing if {
	verdict([v | some v in env; not startswith(v, "DB_")])
}
