/**
 * The least RBAC the Coordinator's ServiceAccount needs: the rules live in the `deploy/` library
 * (the Coordinator YAML writes them into its Role); re-exported here for the Coordinator's side.
 *
 * @module
 */
export {
  COORDINATOR_HISTORY_RULES,
  COORDINATOR_OWNER_RULES,
  COORDINATOR_PEER_RULES,
  COORDINATOR_RULES,
  type PolicyRule,
} from "../../deploy/coordinator_rbac.ts";
