import { authRepoFor } from "@/server/db/auth-repo";
import { parseTokenInput } from "@/server/domain/auth/token-input";
import { authorize } from "@/server/http/access";
import { badRequest, noStore, unavailable } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/** GET /api/tokens (admin): every API token, revoked ones included, without secrets. */
export async function GET(request: Request): Promise<Response> {
  const access = await authorize(request, "admin");
  if (access instanceof Response) return access;
  try {
    return Response.json({ tokens: await authRepoFor(access.rt.db).tokens() }, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "reading tokens failed");
  }
}

/**
 * POST /api/tokens (admin; from a browser with X-Flowlens-CSRF) {name, role, namespaces, expires?}:
 * creates a token and answers it once; only its sha256 is kept.
 */
export async function POST(request: Request): Promise<Response> {
  const access = await authorize(request, "admin");
  if (access instanceof Response) return access;
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return badRequest("body: expected JSON {name, role, namespaces, expires?}", "body");
  }
  const input = parseTokenInput(body);
  if (!input.ok) return badRequest(input.error, input.parameter);
  const { name, role, namespaces, expires } = input.value;
  try {
    const repo = authRepoFor(access.rt.db);
    const created = await repo.createToken({ name, role, namespaces, createdBy: access.caller.name, expiresAt: expires === null ? null : new Date(Date.now() + expires) });
    await repo.audit(access.caller.name, "token-created", { tokenId: created.row.id, name, role, namespaces, expiresAt: created.row.expiresAt });
    return Response.json({ token: created.token, ...created.row }, { status: 201, headers: noStore() });
  } catch (e) {
    return unavailable(e, "creating the token failed");
  }
}
