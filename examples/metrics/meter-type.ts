// Type test (tsc -p tsconfig.json, run by .ci/steps/60-metrics.sh): a Meter of
// @opentelemetry/api, and the SDK's, pass to instrument() as they are, without
// a cast; breakwater itself depends on neither.
import { metrics, type Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { instrument, withTimeout, wrap, type InstrumentMeter, type InstrumentOptions } from 'breakwater';
import { promClientMeter } from './prom-client.mjs';

const apiMeter: Meter = metrics.getMeter('checkout');
const detach: () => void = instrument(wrap(withTimeout(1_000)), { meter: apiMeter, name: 'payments' });
detach();
instrument(withTimeout(1_000), { meter: new MeterProvider().getMeter('checkout') });

// The structural type is a supertype of the API's Meter …
const shape: InstrumentMeter = apiMeter;
const options: InstrumentOptions = { meter: shape };
// … and the prom-client adapter of this folder fits it too.
instrument(withTimeout(1_000), { ...options, meter: promClientMeter(new Registry()) });

// @ts-expect-error a meter needs createObservableGauge
instrument(withTimeout(1_000), { meter: { createCounter: apiMeter.createCounter, createHistogram: apiMeter.createHistogram } });
// @ts-expect-error name is a string
instrument(withTimeout(1_000), { meter: apiMeter, name: 42 });
