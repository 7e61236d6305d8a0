/** The runtime's public surface: artifacts -> onnxruntime sessions, data, training, checkpoints. */
export { openSession, cudaFallbackNotice, resetCudaProbe, type Target, type GraphOptimization, type SessionSettings, type OpenedSession } from './session.ts';
export { readManifest, checkParameterSet, readParameterFile } from './artifacts.ts';
export { writeCheckpoint, readCheckpoint, resolveCheckpoint, type Checkpoint, type CheckpointInfo, type BestResult, type Float32Tensor, type CheckpointStage, type WriteCheckpointOptions } from './checkpoint.ts';
export { evaluate, defaultBestMetric, higherIsBetter, paramFeeds, type Metrics } from './evaluate.ts';
export { Trainer, type TrainerOptions, type TrainResult, type TrainStatus, type StructuralHook, type StructuralContext, type StructuralChange } from './trainer.ts';
export { TrainingLog, readTrainingLog, type StepRecord, type EventRecord } from './log.ts';
export { Progress, formatDuration, type ProgressOptions, type ProgressUpdate } from './progress.ts';
export * from './metrics.ts';
export * from './data/index.ts';
export { adapterValues, sourceParameters, type AdapterSource, type AdapterValues, type ParameterSourceOptions, type SourcedParameters } from './adapter.ts';
export { Pipeline, type PipelineOptions, type RowOutputs, type RowTensor, type Classification } from './pipeline.ts';
export { exportAdapter, exportMerged, adapterConfig, adapterConfigPath, adapterBaseWarning, type AdapterConfig, type ExportOptions, type ExportedAdapter, type ExportMergedOptions, type MergedExport, type ExportSource } from './export.ts';
export { foldLora, type FoldReport } from '../compiler/adapters/index.ts';
