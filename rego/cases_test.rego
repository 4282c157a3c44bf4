# Agreement cases shared with the TypeScript checker: rego/cases/fixture_pod.json is written by
# tests/policy/check/write_cases.ts (requests of the fixture pod, legitimate and tampered, with
# the policy state reached before each) and read both here, by the Rego interpreter, and by
# tests/policy/check/agreement_test.ts through the compiled wasm. Both must give every case
# the recorded verdict.
package agent_policy_cases_test

import rego.v1

fixture := data.cases.fixture_pod

legitimate_inputs[c.name] := c.input if {
	some c in fixture.cases
	is_object(c.input)
}

case_input(c) := c.input if is_object(c.input)

case_input(c) := json.patch(legitimate_inputs[c.base], c.patch) if is_string(c.base)

# Each case is evaluated once (a partial object rule is computed once per query).
verdicts[c.name] := r.allowed if {
	some c in fixture.cases
	request := case_input(c)
	r := data.agent_policy[c.type] with input as request
		with data.agent_policy.policy_data as fixture.policy_data
		with data.pstate as c.state
}

disagreements contains c.name if {
	some c in fixture.cases
	verdicts[c.name] != c.allowed
}

test_rego_agrees_with_the_recorded_verdict_of_every_shared_case if {
	count(fixture.cases) > 50
	count(verdicts) == count(fixture.cases)
	count(disagreements) == 0
	some a in fixture.cases
	a.allowed
	some d in fixture.cases
	not d.allowed
}
