// Option checks shared by every policy. Each runs once, when a policy is
// created, and throws a TypeError (wrong type) or RangeError (bad value)
// naming the option. A key present with the value `undefined` means the default.

interface NumberRule {
  /** Smallest allowed value. @default 0 */
  readonly min?: number;
  /** `min` itself is not allowed. */
  readonly above?: boolean;
  readonly max?: number;
  readonly integer?: boolean;
  /** `Infinity` is allowed. */
  readonly infinite?: boolean;
}

export function numberOption(owner: string, name: string, value: unknown, fallback: number, rule: NumberRule = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${owner}: option "${name}" must be a number, got ${describe(value)}`);
  const min = rule.min ?? 0;
  const ok =
    !Number.isNaN(value) &&
    (rule.above ? value > min : value >= min) &&
    (rule.max === undefined || value <= rule.max) &&
    (Number.isFinite(value) || (rule.infinite === true && value === Infinity)) &&
    (!rule.integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) {
    const range = `${rule.above ? '>' : '>='} ${min}${rule.max === undefined ? '' : ` and <= ${rule.max}`}`;
    const kind = rule.integer ? 'an integer' : 'a number';
    const inf = rule.infinite ? ' (or Infinity)' : ' and finite';
    throw new RangeError(`${owner}: option "${name}" must be ${kind} ${range}${inf}, got ${String(value)}`);
  }
  return value;
}

export function functionOption<F extends (...args: never[]) => unknown>(owner: string, name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`${owner}: option "${name}" must be a function, got ${describe(value)}`);
  return value as F;
}

export function enumOption<V extends string>(owner: string, name: string, value: unknown, allowed: readonly V[], fallback: V): V {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as V)) {
    throw new (typeof value === 'string' ? RangeError : TypeError)(
      `${owner}: option "${name}" must be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as V;
}

export function objectOptions<O extends object>(owner: string, options: unknown): Partial<O> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new TypeError(`${owner}: options must be an object, got ${describe(options)}`);
  return options as Partial<O>;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
