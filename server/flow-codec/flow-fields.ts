/**
 * Which top-level Flow fields (numbers from shared/hubble-api.md) are shared "context" and which
 * vary per flow. Context fields repeat across the flows of one conversation (endpoints, IPs, node,
 * verdict, policies…), so they are stored once per distinct combination (flow_contexts.raw). Fields
 * not listed as context — including field numbers we do not know yet — are kept per flow (rest), so
 * a newer agent's per-flow field can never explode the context table.
 */
export const FLOW_TIME = 1;
export const FLOW_L4 = 6;
export const FLOW_SOURCE = 8;
export const FLOW_DESTINATION = 9;
export const FLOW_NODE_NAME = 11;
export const FLOW_L7 = 15;
export const FLOW_UUID = 34;
export const FLOW_SUMMARY = 100000;

export const CONTEXT_FIELDS: ReadonlySet<number> = new Set([
  2, // verdict
  3, // drop_reason (deprecated)
  4, // ethernet
  5, // IP
  8, // source
  9, // destination
  10, // Type
  11, // node_name
  13, // source_names
  14, // destination_names
  16, // reply (deprecated)
  19, // event_type
  20, // source_service
  21, // destination_service
  22, // traffic_direction
  23, // policy_match_type
  24, // trace_observation_point
  25, // drop_reason_desc
  26, // is_reply
  27, // debug_capture_point
  28, // interface
  29, // proxy_port
  31, // sock_xlate_point
  33, // cgroup_id
  35, // auth_type
  36, // trace_reason
  37, // node_labels
  38, // file
  41, // emitter
  21001, // egress_allowed_by
  21002, // ingress_allowed_by
  21004, // egress_denied_by
  21005, // ingress_denied_by
  21006, // policy_log
]);

/** GetFlowsResponse fields */
export const RESP_FLOW = 1;
export const RESP_NODE_STATUS = 2;
export const RESP_LOST_EVENTS = 3;
export const RESP_NODE_NAME = 1000;
export const RESP_TIME = 1001;

/** Layer4 oneof members we keep in columns; VRRP (6) and IGMP (7) stay in rest. */
export const L4_TCP = 1;
export const L4_UDP = 2;
export const L4_ICMPV4 = 3;
export const L4_ICMPV6 = 4;
export const L4_SCTP = 5;
export const L4_IGMP = 7;

export const L7_DNS = 100;
export const L7_HTTP = 101;
export const L7_KAFKA = 102;
