import { NextResponse, type NextRequest } from "next/server";

/**
 * With sign-in on, a page asked for without a session cookie goes to the identity provider and
 * comes back to the same page. Only a shortcut: the dashboard layout and every route handler check
 * the session against the store themselves (a cookie can be stale or forged).
 */
export function proxy(request: NextRequest) {
  if (!process.env.FLOWLENS_OIDC_ISSUER || process.env.FLOWLENS_AUTH === "off") return NextResponse.next();
  if (request.cookies.has("flowlens_session")) return NextResponse.next();
  const { pathname, search } = request.nextUrl;
  const login = new URL("/auth/login", process.env.FLOWLENS_PUBLIC_URL || request.url);
  login.searchParams.set("next", pathname + search);
  return NextResponse.redirect(login, 303);
}

export const config = {
  // pages only: the API answers 401 itself, /auth is the sign-in, /metrics takes tokens
  matcher: ["/((?!api/|auth/|metrics|_next/|icon\\.svg|favicon\\.ico).*)"],
};
