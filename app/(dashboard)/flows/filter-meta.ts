/** Placeholder, help text and suggestions per filter input (hubble observe flag semantics). */
import type { FilterParam } from "@/app/lib/flow-filter-params";
import {
  DROP_REASON_NAMES,
  EVENT_TYPE_SUGGESTIONS,
  HTTP_METHOD_SUGGESTIONS,
  PROTOCOL_SUGGESTIONS,
  VERDICTS,
} from "@/app/lib/hubble-enums";

export interface FilterMeta {
  placeholder: string;
  help: string;
  suggestions?: readonly string[];
}

const either = "source or destination";

export const FILTER_META: Record<FilterParam, FilterMeta> = {
  verdict: { placeholder: "e.g. 9, VERDICT_UNKNOWN", help: "Other verdict names or numbers", suggestions: VERDICTS },
  namespace: { placeholder: "default", help: `Exact namespace of the ${either}; comma = or` },
  "from-namespace": { placeholder: "default", help: "Exact namespace of the source" },
  "to-namespace": { placeholder: "kube-system", help: "Exact namespace of the destination" },
  pod: { placeholder: "ns/web-", help: `Pod name prefix of the ${either}; ns/ = whole namespace` },
  "from-pod": { placeholder: "ns/web-", help: "Pod name prefix of the source, optionally namespace/" },
  "to-pod": { placeholder: "ns/db-", help: "Pod name prefix of the destination, optionally namespace/" },
  label: { placeholder: "app=web,tier!=db", help: `Label selector on the ${either}; comma = and` },
  "from-label": { placeholder: "app=web", help: "Label selector on the source; comma = and" },
  "to-label": { placeholder: "k8s:app in (a,b)", help: "Label selector on the destination; comma = and" },
  ip: { placeholder: "10.0.0.0/8", help: `IP or CIDR of the ${either}` },
  "from-ip": { placeholder: "10.0.0.5", help: "IP or CIDR of the source" },
  "to-ip": { placeholder: "0.0.0.0/0", help: "IP or CIDR of the destination" },
  port: { placeholder: "53", help: `L4 port of the ${either}` },
  "from-port": { placeholder: "40000", help: "Source L4 port" },
  "to-port": { placeholder: "443", help: "Destination L4 port" },
  protocol: { placeholder: "tcp", help: "tcp, udp, icmp, sctp, http, dns, kafka", suggestions: PROTOCOL_SUGGESTIONS },
  type: { placeholder: "drop, trace:to-endpoint", help: "Hubble event type", suggestions: EVENT_TYPE_SUGGESTIONS },
  "drop-reason-desc": { placeholder: "POLICY_DENIED", help: "Drop reason name or number", suggestions: DROP_REASON_NAMES },
  "http-status": { placeholder: "5+", help: "HTTP status: 404, 4+, 5+" },
  "http-method": { placeholder: "GET", help: "HTTP method", suggestions: HTTP_METHOD_SUGGESTIONS },
  "http-path": { placeholder: "^/api/v1/", help: "Regular expression on the URL path" },
  fqdn: { placeholder: "*.example.com", help: `DNS name of the ${either}; * wildcards` },
  "from-fqdn": { placeholder: "*.svc.cluster.local", help: "DNS name of the source" },
  "to-fqdn": { placeholder: "api.github.com", help: "DNS name of the destination" },
  "node-name": { placeholder: "kind-worker*", help: "Node name; * wildcards" },
  "traffic-direction": { placeholder: "", help: "Ingress or egress from the observing endpoint" },
  cluster: { placeholder: "default", help: "Cluster name of either endpoint" },
  uuid: { placeholder: "6f1c…", help: "Flow uuid or storage key" },
};
