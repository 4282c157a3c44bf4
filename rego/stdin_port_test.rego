# A process's stdin from a host port (review-policy). With the agent's passfd I/O enabled (the
# guest's `agent.passfd_listener_port`), CreateContainer and ExecProcess take the process's
# stdin, stdout and stderr from the host's vsock connections named by `stdin_port`,
# `stdout_port` and `stderr_port` (rpc.rs do_create_container, passfd_io::take_io_streams): a
# `stdin_port` would let the host write to a container's or probe's stdin, which the policy
# refuses as WriteStreamRequest. The runtime sends 0 for stdin (every capture); output ports stay
# admitted (the host reads the output with ReadStreamRequest anyway).
# Run with `opa test rego/`.
package agent_policy_stdin_port_test

import rego.v1

fixture := data.cases.fixture_pod

case_named(name) := [c | some c in fixture.cases; c.name == name][0]

verdict(name, rule, patch) := r.allowed if {
	c := case_named(name)
	req := json.patch(c.input, patch)
	r := data.agent_policy[rule] with input as req
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as c.state
}

create := "legitimate CreateContainerRequest app"

exec := "legitimate ExecProcessRequest app"

test_no_stdin_port_is_allowed if {
	verdict(create, "CreateContainerRequest", [])
	verdict(create, "CreateContainerRequest", [{"op": "remove", "path": "/stdin_port"}])
	verdict(create, "CreateContainerRequest", [{"op": "replace", "path": "/stdout_port", "value": 7}, {"op": "replace", "path": "/stderr_port", "value": 8}])
	verdict(exec, "ExecProcessRequest", [])
	verdict(exec, "ExecProcessRequest", [{"op": "add", "path": "/stdout_port", "value": 7}])
}

test_stdin_from_a_host_port_is_refused if {
	not verdict(create, "CreateContainerRequest", [{"op": "replace", "path": "/stdin_port", "value": 5}])
	not verdict(exec, "ExecProcessRequest", [{"op": "add", "path": "/stdin_port", "value": 5}])
	not verdict(exec, "ExecProcessRequest", [{"op": "add", "path": "/stdin_port", "value": "5"}])
}
