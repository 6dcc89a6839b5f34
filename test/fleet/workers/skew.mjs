// Preload (`node --import ./skew.mjs`): this process's clocks run ahead by
// BREAKWATER_SKEW_MS (default +10 minutes): Date.now, new Date(),
// performance.now and performance.timeOrigin all shifted, as on a machine
// whose clock drifted and whose process has been up longer. Fleet decisions
// must not notice: the store's clock decides, never an instance's.
// The real wall clock stays reachable for the test's own timestamps.
const skew = Number(process.env.BREAKWATER_SKEW_MS ?? 600_000);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
globalThis[Symbol.for('breakwater.test.realNow')] = realNow;

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + skew);
    else super(...args);
  }
  static now() {
    return realNow() + skew;
  }
}
globalThis.Date = SkewedDate;

const perfNow = performance.now.bind(performance);
const origin = performance.timeOrigin;
Object.defineProperty(performance, 'now', { configurable: true, writable: true, value: () => perfNow() + skew });
Object.defineProperty(performance, 'timeOrigin', { configurable: true, value: origin + skew });
