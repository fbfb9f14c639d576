// cytoscape-fcose ships no types; it is a cytoscape extension registered with cytoscape.use().
declare module "cytoscape-fcose" {
  const ext: unknown;
  export default ext;
}
