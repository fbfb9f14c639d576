/** What a parser of outside input answers: the value, or why not (a message that names the input). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Parsed<T> => ({ ok: false, error });
/** The input as it appears in a message: quoted, with its control characters escaped. */
export const q = (s: string) => JSON.stringify(s);
