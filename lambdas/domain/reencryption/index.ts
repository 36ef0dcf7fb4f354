/**
 * Re-encryption, the domain side, as one import: the vocabulary (reencryption-vocabulary.ts),
 * the pacing arithmetic (reencryption-pacing.ts), the per-object decisions
 * (reencryption-decisions.ts), the report arithmetic (reencryption-outcomes.ts) and the planning
 * (reencryption-plan.ts). Modules inside lambdas/domain import the sibling they need, never this
 * one, so that no import cycle runs through it.
 */

export * from './vocabulary';
export * from './pacing';
export * from './decisions';
export * from './outcomes';
export * from './plan';
