/** Loss heads, optimizers, schedules, clipping, and the fused train / eval / infer graphs. */
export { buildTrainingGraphs, type Binding, type GraphInterface, type TrainingSpec, type TrainingGraphs, type ParameterInfo, type ParamGroup } from './build.ts';
export { classificationLoss, lmLoss, mseLoss, type LossSpec, type LossHead } from './losses.ts';
export { emitUpdate, stateSlots, type OptimizerSpec, type UpdateInputs, type UpdateOutputs } from './optimizers.ts';
export { emitScheduleFactor, scheduleFactor, type ScheduleSpec } from './schedules.ts';
export { clipByGlobalNorm, globalNorm } from './clipping.ts';
export { enableTrainingDropout, dropoutSeed, DEFAULT_STEP_INPUT } from './dropout.ts';
export { hashedKeepMask, hashedUniform24, type DropoutRatio } from './hashed-dropout.ts';
