// Option checks shared by every policy. Each runs once, when a policy is
// created, and throws a TypeError (wrong type) or RangeError (bad value)
// naming the option. A key present with the value `undefined` means the default.
// Every message goes through `invalid`, so a bundle carries one template
// (bytes matter: see bench/bundle.mjs).

/**
 * Flags of a number option's rule (numberOption's `flags`), combined with `|`.
 * A const enum: the build writes the numbers, where a constant would be a
 * variable in every bundle. (INTEGER, INFINITE and ABOVE below are the same
 * flags for the files that still import them.)
 */
export const enum Flag {
  /** A whole number. */
  INTEGER = 1,
  /** `Infinity` is allowed. */
  INFINITE = 2,
  /** `min` itself is not allowed. */
  ABOVE = 4,
}
export const INTEGER = Flag.INTEGER;
export const INFINITE = Flag.INFINITE;
export const ABOVE = Flag.ABOVE;

/** Throws `owner: option "name" must be <expected>, got <value>`. */
export function invalid(owner: string, name: string, expected: string, value: unknown, kind?: ErrorConstructor): never {
  throw mustBe(`${owner}: option "${name}"`, expected, value, kind);
}

/**
 * `<subject> must be <expected>, got <value>`: the one template of every
 * argument and option error (execute's, wrap's, on's and invalid's).
 */
export function mustBe(subject: string, expected: string, value: unknown, kind: ErrorConstructor = TypeError): Error {
  return new kind(`${subject} must be ${expected}, got ${describe(value)}`);
}

/** Throws `owner: option "name" is required`. */
export function required(owner: string, name: string): never {
  throw new TypeError(`${owner}: option "${name}" is required`);
}

/**
 * The option `o[name]` as a number in [min, max] (in (min, max] with ABOVE),
 * finite unless INFINITE, whole with INTEGER. The option is read here, so each
 * call writes its name once; flags and bounds are positional, not an object:
 * they are written at every option of every policy (bench/bundle.mjs).
 */
export function readNumber<O extends object, F extends number | undefined>(
  owner: string,
  name: keyof O & string,
  o: O,
  fallback: F,
  flags = 0,
  min = 0,
  max = Infinity,
): number | F {
  const value: unknown = o[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') invalid(owner, name, 'a number', value);
  const above = flags & Flag.ABOVE;
  const infinite = flags & Flag.INFINITE;
  const integer = flags & Flag.INTEGER;
  // NaN fails every comparison, so it fails here too. An integer is finite.
  if (!((above ? value > min : value >= min) && value <= max && (value === Infinity ? infinite : integer ? Number.isInteger(value) : Number.isFinite(value)))) {
    // Interval notation, e.g. "an integer in [1, Infinity]", "a number in (0, 1]", "a number in [0, Infinity)".
    invalid(
      owner,
      name,
      `${integer ? 'an integer' : 'a number'} in ${above || min === -Infinity ? '(' : '['}${min}, ${max}${max === Infinity && !infinite ? ')' : ']'}`,
      value,
      RangeError,
    );
  }
  return value;
}

/** The option `o[name]`: a function, or `undefined`. */
export function readFunction<O extends object, K extends keyof O & string>(owner: string, name: K, o: O): O[K] {
  const value = o[name];
  if (value !== undefined && typeof value !== 'function') invalid(owner, name, 'a function', value);
  return value;
}

/** The option `o[name]`: one of `allowed`, `fallback` when `undefined`. */
export function readEnum<O extends object, V extends string>(owner: string, name: keyof O & string, o: O, allowed: readonly V[], fallback: V): V {
  const value: unknown = o[name];
  if (value === undefined) return fallback;
  if (!allowed.includes(value as V)) {
    invalid(owner, name, `one of '${allowed.join("', '")}'`, value, typeof value === 'string' ? RangeError : TypeError);
  }
  return value as V;
}

// The same checks for a value in hand (the form the policies outside the core still use).

export function numberOption<F extends number | undefined>(owner: string, name: string, value: unknown, fallback: F, flags?: number, min?: number, max?: number): number | F {
  return readNumber(owner, name, { [name]: value }, fallback, flags, min, max);
}

export function functionOption<F extends (...args: never[]) => unknown>(owner: string, name: string, value: unknown): F | undefined {
  return readFunction(owner, name, { [name]: value }) as F | undefined;
}

export function enumOption<V extends string>(owner: string, name: string, value: unknown, allowed: readonly V[], fallback: V): V {
  return readEnum(owner, name, { [name]: value }, allowed, fallback);
}

/**
 * `options` as an object of the policy's `keys` (its option names, space-separated).
 * Only own enumerable string keys are checked: a symbol key, or an inherited
 * property (a class instance's getter), is never refused; the policy reads
 * inherited properties like any others.
 */
export function objectOptions<O extends object>(owner: string, options: unknown, keys: string): Partial<O> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw mustBe(`${owner}: options`, 'an object', options);
  for (const name of Object.keys(options)) known(owner, 'option', name, keys);
  return options as Partial<O>;
}

/**
 * Throws `owner: unknown <what> 'name', did you mean 'nearest'?` unless `name` is
 * one of `allowed` (space-separated). A misspelt option would otherwise be
 * ignored in silence, and a breaker would never open the way it was meant to.
 */
export function known(owner: string, what: string, name: unknown, allowed: string): void {
  const valid = allowed.split(' ');
  // A falsy name is none: '' above all, also where nothing is allowed (a wrap's events: ''.split(' ') is ['']).
  if (!name || !valid.includes(name as string)) {
    // The nearest name shares the longest start with what was typed, at least 3
    // characters (ties: the first in `allowed`). Most slips come after the first
    // letters, and an edit distance would cost every bundle more bytes than it is
    // worth.
    let nearest: string | undefined;
    for (let typed = String(name); typed.length > 2 && nearest === undefined; typed = typed.slice(0, -1)) {
      nearest = valid.find((candidate) => candidate.startsWith(typed));
    }
    throw new TypeError(`${owner}: unknown ${what} ${describe(name)}${nearest ? `, did you mean '${nearest}'?` : ''}`);
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  // null (and every other falsy value) falls through to String: 'null'.
  if (value && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
