/**
 * The caller of a page render (server components): the session cookie checked against the store,
 * as route handlers do. Null means "sign in first".
 */
import { cookies } from "next/headers";
import { LOCAL_CALLER, type Caller } from "@/server/domain/auth/roles";
import { getRuntime } from "@/server/runtime";
import { authSettings } from "./auth-settings";
import { SESSION_COOKIE } from "./cookies";
import { callerFromSession } from "./identify";

export async function pageCaller(): Promise<Caller | null> {
  const settings = authSettings();
  if (settings.mode !== "on") return LOCAL_CALLER;
  const id = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!id) return null;
  const rt = await getRuntime();
  return callerFromSession(rt.db, settings, id);
}
