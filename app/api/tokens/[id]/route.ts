import { authRepoFor } from "@/server/db/auth-repo";
import { authorize } from "@/server/http/access";
import { badRequest, noStore, unavailable } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/** DELETE /api/tokens/:id (admin; X-Flowlens-CSRF from a browser): revokes the token at once. */
export async function DELETE(request: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await ctx.params;
  if (!/^[1-9]\d{0,8}$/.test(id)) return badRequest("id: expected a token number", "id");
  const access = await authorize(request, "admin");
  if (access instanceof Response) return access;
  try {
    const repo = authRepoFor(access.rt.db);
    if (!(await repo.revokeToken(Number(id)))) return Response.json({ error: `id: no token ${id}, or it is already revoked` }, { status: 404 });
    await repo.audit(access.caller.name, "token-revoked", { tokenId: Number(id) });
    return Response.json({ revoked: Number(id) }, { headers: noStore() });
  } catch (e) {
    return unavailable(e, "revoking the token failed");
  }
}
