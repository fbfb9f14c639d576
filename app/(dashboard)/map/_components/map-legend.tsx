/** What the colours and shapes mean. */
export function MapLegend() {
  return (
    <div className="map-legend" data-testid="map-legend" aria-label="Legend">
      <span><i className="lg-line lg-ok" /> forwarded</span>
      <span><i className="lg-line lg-warn" /> some dropped</span>
      <span><i className="lg-line lg-bad" /> all dropped</span>
      <span><i className="lg-node lg-workload" /> workload</span>
      <span><i className="lg-node lg-external" /> FQDN / CIDR / world</span>
      <span><i className="lg-node lg-reserved" /> cluster identity</span>
      <span className="muted">width = flows (log)</span>
    </div>
  );
}
