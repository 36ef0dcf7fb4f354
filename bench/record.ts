import { performance } from 'node:perf_hooks';

// The benchmark's figures: each measurement with its target, and notes printed without one.

/** A measured figure and its target. */
export interface Result {
  name: string;
  value: number;
  unit: string;
  target: number;
  /** 'max': value must be <= target; 'min': value must be >= target. */
  kind: 'max' | 'min';
}
/** Every figure measured so far, in order. */
export const results: Result[] = [];
/** A figure that must stay at or under its target (a time, a size). */
export const record = (name: string, value: number, unit: string, target: number) =>
  results.push({ name, value, unit, target, kind: 'max' });
/** A figure that must reach its target (a throughput, a ratio). */
export const recordMin = (name: string, value: number, unit: string, target: number) =>
  results.push({ name, value, unit, target, kind: 'min' });
/** Figures printed without a target (what a storm amounts to). */
export const notes: string[] = [];

/** Microseconds per call of `fn`, after a warm-up. */
export function timePerOp(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - start) * 1000) / iterations; // microseconds
}

/** Print every figure (PASS/FAIL against its target) and the notes; the number of figures that failed. */
export function printResults(): number {
  let failed = 0;
  for (const r of results) {
    const ok = r.kind === 'min' ? r.value >= r.target : r.value <= r.target;
    if (!ok) failed++;
    console.log(
      `${ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.value.toFixed(r.value < 10 ? 2 : 0)} ${r.unit} (target ${r.kind === 'min' ? '>=' : '<='} ${r.target} ${r.unit})`,
    );
  }
  for (const f of notes) console.log(`INFO  ${f}`);
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed;
}
