/**
 * compileLinearRegex (ADR 0007): patterns that make a backtracking engine run for seconds to
 * forever on a 10k-character text are matched by re2js in milliseconds, the semantics the
 * matcher relies on (unanchored search, dotAll, Unicode folding with ignoreCase) hold, and
 * compiled programs are reused.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileLinearRegex, tryCompileLinearRegex } from "@/server/domain/linear-regex";

const A = "a".repeat(10_000);

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

describe("compileLinearRegex", () => {
  it("matches the classic catastrophic patterns over 10k characters in well under a second", () => {
    const cases: [string, string, boolean][] = [
      [".*.*.*.*.*.*.*.*x", A, false],
      [`${"a?".repeat(30)}${"a".repeat(30)}`, A, true],
      ["(a+)+$", `${A}!`, false],
      ["(a|aa)*b", A, false],
      ["(.*)*x", A, false],
      ["^(a|a?)+$", `${A}b`, false],
      ["(?:a*)*(?:b*)*c", "ab".repeat(5000), false],
      ["(\\w+\\s?)*$", `${"word ".repeat(2000)}!`, true],
    ];
    for (const [source, text, expected] of cases) {
      const { value, ms } = timed(() => compileLinearRegex(source, { dotAll: true }).test(text));
      expect([source, value]).toEqual([source, expected]);
      expect(ms, source).toBeLessThan(500);
    }
  });

  it("fast-check: any nesting of quantifiers stays fast over 10k characters", () => {
    const quantifier = fc.constantFrom("*", "+", "?", "{1,3}", "{2,}", "*?", "");
    const atom = fc.constantFrom("a", "b", ".", "[ab]", "\\w", "(?:a|aa)", "(?:)");
    const { expr } = fc.letrec((tie) => ({
      expr: fc.oneof(
        { depthSize: "small" },
        fc.tuple(atom, quantifier).map(([a, q]) => a + q),
        fc.tuple(fc.array(tie("expr"), { minLength: 1, maxLength: 3 }), fc.boolean(), quantifier).map(
          ([parts, alt, q]) => `(?:${parts.join(alt ? "|" : "")})${q}`,
        ),
      ),
    }));
    fc.assert(
      fc.property(fc.array(expr, { minLength: 1, maxLength: 4 }), fc.constantFrom("$", "c", "c$", ""), (parts, end) => {
        const source = parts.join("") + end;
        const { ms } = timed(() => compileLinearRegex(source, { dotAll: true }).test(`${"ab".repeat(5000)}!`));
        expect(ms, source).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });

  it("is an unanchored search; dotAll lets . match a newline; ignoreCase folds Unicode", () => {
    expect(compileLinearRegex("b").test("abc")).toBe(true);
    expect(compileLinearRegex("^b").test("abc")).toBe(false);
    expect(compileLinearRegex("a.c").test("a\nc")).toBe(false);
    expect(compileLinearRegex("a.c", { dotAll: true }).test("a\nc")).toBe(true);
    expect(compileLinearRegex("a$").test("a\n")).toBe(false);
    expect(compileLinearRegex("^.$", { dotAll: true }).test("😀")).toBe(true);
    expect(compileLinearRegex("^kube$", { ignoreCase: true }).test("\u212aUBE")).toBe(true);
    expect(compileLinearRegex("^kube$").test("Kube")).toBe(false);
  });

  it("reuses a compiled pattern and tells why RE2 refuses one", () => {
    expect(compileLinearRegex("x+y", { dotAll: true })).toBe(compileLinearRegex("x+y", { dotAll: true }));
    expect(compileLinearRegex("x+y")).not.toBe(compileLinearRegex("x+y", { dotAll: true }));
    expect(compileLinearRegex("x+y").programSize).toBeGreaterThan(2);
    expect(tryCompileLinearRegex("(a")).toEqual({ ok: false, error: "missing closing ): `(a`" });
    expect(tryCompileLinearRegex("(a)\\1")).toMatchObject({ ok: false, error: expect.stringMatching(/escape/) });
    expect(tryCompileLinearRegex("a(?=b)")).toMatchObject({ ok: false });
    expect(() => compileLinearRegex("[z-a]")).toThrow(/invalid character class range/);
  });
});
