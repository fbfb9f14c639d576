/** What a non-admin sees on an admin page (the API refuses them too). */
export function AdminOnly({ what }: { what: string }) {
  return (
    <section className="admin-page">
      <h1>{what}</h1>
      <p data-testid="admin-only">Only admins may see this (role admin in FLOWLENS_AUTH_CONFIG, or an admin token).</p>
    </section>
  );
}
