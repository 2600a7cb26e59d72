/** Minimal argv parsing: positionals, `--name value`, `--name=value`, and boolean `--flag`. */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) options.set(a.slice(2, eq), a.slice(eq + 1));
    else if (booleanFlags.includes(a.slice(2)) || i + 1 >= argv.length) options.set(a.slice(2), true);
    else options.set(a.slice(2), argv[++i]);
  }
  return { positionals, options };
}

export function numberOption(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.options.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${v === true ? 'nothing' : JSON.stringify(v)}`);
  return n;
}

export function positiveInteger(args: ParsedArgs, name: string, fallback: number): number {
  const n = numberOption(args, name, fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${n}`);
  return n;
}

export function positiveNumber(args: ParsedArgs, name: string, fallback: number): number {
  const n = numberOption(args, name, fallback);
  if (!(n > 0)) throw new Error(`--${name}: expected a number > 0, got ${n}`);
  return n;
}

export function stringOption(args: ParsedArgs, name: string, fallback: string): string {
  const v = args.options.get(name);
  if (v === undefined) return fallback;
  if (v === true) throw new Error(`--${name} needs a value`);
  return v;
}

export function optionChoice<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = stringOption(args, name, fallback);
  if (!(choices as readonly string[]).includes(v)) throw new Error(`--${name}: "${v}" is not one of ${choices.join(', ')}`);
  return v as T;
}
