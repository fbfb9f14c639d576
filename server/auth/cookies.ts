/** The session and pending-sign-in cookies: HttpOnly, SameSite=Lax, Secure when the public URL is https. */
export const SESSION_COOKIE = "flowlens_session";
export const LOGIN_COOKIE = "flowlens_oidc";

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function setCookie(name: string, value: string, o: { maxAgeS: number; path?: string; secure: boolean }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path ?? "/"}`, `Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`, "HttpOnly", "SameSite=Lax"];
  if (o.secure) parts.push("Secure");
  return parts.join("; ");
}

export function clearCookie(name: string, o: { path?: string; secure: boolean }): string {
  return setCookie(name, "", { maxAgeS: 0, path: o.path, secure: o.secure });
}
