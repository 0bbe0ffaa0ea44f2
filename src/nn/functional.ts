// The layers as plain functions of engine ops, in one import. Each lives in its own file
// (one concept per file); this module gathers them. Shapes: B batch, T sequence, C width,
// H heads, D head size.

export { linear } from './linear.ts';
export { embedding } from './embedding.ts';
export { layerNorm, rmsNorm } from './norms.ts';
export { ACTIVATIONS, gelu, geluTanh, silu, type ActivationName } from './activations.ts';
export { attention, attentionBias, causalMask, mergeHeads, selfAttention, splitHeads } from './attention.ts';
export { applyRope, ropeAngles, ropeTables } from './rope.ts';
export { gatedMlp, mlp } from './mlp.ts';
export { dropout } from './dropout.ts';
export { loraDelta } from './lora.ts';
export { maskedCrossEntropy, nextTokenLoss } from './loss.ts';
