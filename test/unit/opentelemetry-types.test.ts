// A real Meter from @opentelemetry/api fits what sockprobe/opentelemetry asks for. Checked by
// `npm run typecheck` (tsconfig.test.json covers test/unit; the system tier is not type-checked).
import type { Meter } from '@opentelemetry/api';
import { describe, expectTypeOf, it } from 'vitest';
import type { MeterLike } from '../../src/opentelemetry';

describe('sockprobe/opentelemetry types', () => {
  it("accepts @opentelemetry/api's Meter", () => {
    expectTypeOf<Meter>().toExtend<MeterLike>();
  });
});
