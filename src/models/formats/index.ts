// Checkpoint formats: safetensors (single and sharded), config.json, llama2.c. Plain files in,
// plain typed arrays out; nothing here knows about graphs.
export type { HostArray, HostDType, HostTensor } from './host-tensor.ts';
export { shapeSize } from './host-tensor.ts';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half-float.ts';
export { MAX_HEADER_BYTES } from './safetensors-header.ts';
export {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsSync,
  writeSafetensors,
  type SafetensorsDtype,
  type SafetensorsFile,
  type WriteSafetensorsOptions,
} from './safetensors.ts';
export { readCheckpoint, readShardIndex, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from './checkpoint.ts';
export {
  CONFIG_FILE,
  parseConfig,
  parseRopeScaling,
  readConfig,
  SUPPORTED_MODEL_TYPES,
  toHfConfig,
  writeConfig,
  type WriteConfigOptions,
} from './config.ts';
export type {
  Activation, DecoderVariant, Gpt2Config, LayerNormDecoderConfig, LayerNormModelType, LlamaConfig, LlamaModelType, ModelConfig, ModelType, RopeScaling,
} from './model-config.ts';
export { LAYER_NORM_LAYOUTS, layerWindow, LLAMA_VARIANT, variantOf } from './model-config.ts';
export { checkTensorShapes, expectedTensorShapes, normaliseTensorNames } from './tensor-shapes.ts';
export { readModelDir, type ModelWeights } from './model-dir.ts';
export {
  interleavedToHalves,
  parseLlama2c,
  parseLlama2cTokenizer,
  readLlama2c,
  readLlama2cTokenizer,
  type Llama2cCheckpoint,
  type Llama2cTokenizer,
} from './llama2c.ts';
export { writeFileAtomic } from './write-file-atomic.ts';
