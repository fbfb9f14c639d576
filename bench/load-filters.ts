/**
 * The /api/live filters of `npm run bench:load`'s 50 viewers and the /api/flows filters of its
 * pollers, over bench-flows.ts traffic (12 namespaces team-0…11, apps svc-0…6, 3 nodes, 10 % DNS,
 * 8 % HTTP with ~4 % 503s, 3 % policy drops): a catch-all, namespaces, verdicts, ports, labels,
 * protocols, HTTP, nodes and a few rare combinations.
 */
const q = (...pairs: [string, string][]) => new URLSearchParams(pairs).toString();

export const VIEWER_FILTERS: string[] = [
  q(), // everything
  ...Array.from({ length: 12 }, (_, n) => q(["namespace", `team-${n}`])),
  q(["verdict", "DROPPED"]),
  q(["verdict", "FORWARDED"], ["namespace", "team-1"]),
  q(["verdict", "DROPPED"], ["namespace", "team-2"]),
  q(["port", "53"]),
  ...[8080, 8081, 8082, 8083, 8084].map((p) => q(["to-port", String(p)])),
  ...Array.from({ length: 7 }, (_, n) => q(["label", `app=svc-${n}`])),
  q(["from-label", "app=svc-1"], ["to-label", "app in (svc-4,svc-5)"]),
  q(["label", "!app"]),
  q(["protocol", "dns"]),
  q(["protocol", "http"]),
  q(["protocol", "udp"], ["namespace", "team-6"]),
  q(["http-status", "5+"]),
  q(["http-method", "GET"], ["namespace", "team-3"]),
  q(["http-path", "^/api/items/1[0-9]$"]),
  q(["node-name", "kind-worker"]),
  q(["node-name", "kind-worker2"], ["protocol", "tcp"]),
  q(["traffic-direction", "ingress"], ["namespace", "team-8"]),
  q(["type", "drop"]),
  q(["drop-reason-desc", "POLICY_DENIED"], ["to-namespace", "team-9"]),
  q(["pod", "team-4/svc-3-"]),
  q(["from-namespace", "team-4"], ["to-namespace", "team-5"]),
  q(["to-label", "app=svc-6"], ["verdict", "FORWARDED"]),
  q(["ip", "10.244.5.0/24"]),
  q(["cluster", "default"], ["verdict", "DROPPED"], ["port", "8083"]),
  // rare ones
  q(["verdict", "DROPPED"], ["namespace", "team-5"], ["to-port", "8083"]),
  q(["http-status", "503"], ["namespace", "team-5"]),
  q(["fqdn", "*.example.com"]),
];

export const POLLER_FILTERS: string[] = [
  q(),
  q(["namespace", "team-3"]),
  q(["verdict", "DROPPED"]),
  q(),
  q(["protocol", "http"], ["http-status", "5+"]),
  q(["label", "app=svc-2"]),
  q(),
  q(["to-port", "8081"]),
  q(["namespace", "team-7"], ["verdict", "FORWARDED"]),
  q(["protocol", "dns"]),
];
