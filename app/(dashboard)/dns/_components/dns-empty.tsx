import styles from "../dns.module.css";

export const DNS_RULE_YAML = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: dns-visibility
  namespace: <your-namespace>
spec:
  endpointSelector: {}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*"`;

/**
 * No DNS flows at all: Hubble only sees queries and answers when Cilium's DNS proxy handles them,
 * which takes an L7 DNS rule in a policy. Say so, with the rule to add.
 */
export function DnsEmpty({ filtered, onWiden }: { filtered: boolean; onWiden?: () => void }) {
  return (
    <section className={styles.empty} data-testid="dns-empty">
      <h2>No DNS queries {filtered ? "match this view" : "in this range"}</h2>
      {filtered && onWiden && (
        <p>
          <button type="button" className="button" onClick={onWiden}>
            Show the last hour without filters
          </button>
        </p>
      )}
      <p>
        Hubble records DNS requests and answers only for traffic that goes through Cilium&apos;s DNS proxy, and the proxy
        only handles pods selected by a policy with a <span className="mono">dns</span> rule. Pods without one still
        resolve names, but their queries are plain UDP flows with no name, answer or rcode.
      </p>
      <p>Add (or extend) an egress rule like this for the namespaces you want to see; it allows all names and makes every query visible:</p>
      <pre className={styles.yaml} data-testid="dns-rule">
        {DNS_RULE_YAML}
      </pre>
      <p className="muted small">
        Mind that a CiliumNetworkPolicy with egress rules puts its pods in default-deny for egress: keep the rules that
        allow their other traffic, or add this rule to an existing policy.
      </p>
    </section>
  );
}
