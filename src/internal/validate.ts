// Option checks shared by every policy. Each runs once, when a policy is
// created, and throws a TypeError (wrong type) or RangeError (bad value)
// naming the option. A key present with the value `undefined` means the default.
// Every message goes through `invalid`, so a bundle carries one template
// (bytes matter: see bench/bundle.mjs).

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

/** Throws `owner: option "name" must be <expected>, got <value>`. */
export function invalid(owner: string, name: string, expected: string, value: unknown, kind: ErrorConstructor = TypeError): never {
  throw new kind(`${owner}: option "${name}" must be ${expected}, got ${describe(value)}`);
}

/** Throws `owner: option "name" is required`. */
export function required(owner: string, name: string): never {
  throw new TypeError(`${owner}: option "${name}" is required`);
}

export function numberOption(owner: string, name: string, value: unknown, fallback: number, rule: NumberRule = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') invalid(owner, name, 'a number', value);
  const { min = 0, max = Infinity, above, integer, infinite } = rule;
  // NaN fails every comparison, so it fails here too.
  const ok =
    (above ? value > min : value >= min) &&
    value <= max &&
    (value === Infinity ? infinite === true : Number.isFinite(value) && (!integer || Number.isInteger(value)));
  if (!ok) {
    // Interval notation, e.g. "an integer in [1, Infinity]", "a number in (0, 1]", "a number in [0, Infinity)".
    const range = `${above || min === -Infinity ? '(' : '['}${min}, ${max}${max === Infinity && !infinite ? ')' : ']'}`;
    invalid(owner, name, `${integer ? 'an integer' : 'a number'} in ${range}`, value, RangeError);
  }
  return value;
}

export function functionOption<F extends (...args: never[]) => unknown>(owner: string, name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') invalid(owner, name, 'a function', value);
  return value as F | undefined;
}

export function enumOption<V extends string>(owner: string, name: string, value: unknown, allowed: readonly V[], fallback: V): V {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as V)) {
    invalid(owner, name, `one of '${allowed.join("', '")}'`, value, typeof value === 'string' ? RangeError : TypeError);
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
