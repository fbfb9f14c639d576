/** Where sign-out lands: not signing in again on its own (the provider's session may still be open). */
export default function SignedOut() {
  return (
    <main style={{ maxWidth: "40rem", margin: "4rem auto", fontFamily: "system-ui, sans-serif" }}>
      <h1 data-testid="signed-out">Signed out</h1>
      <p>
        <a href="/auth/login">Sign in again</a>
      </p>
    </main>
  );
}
