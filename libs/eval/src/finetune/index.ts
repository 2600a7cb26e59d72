export { FINETUNE_METHODS, DEFAULT_METHOD_OPTIONS, methodPlan, parseMethods, tuningTrains, type FinetuneMethod, type MethodOptions, type MethodPlan } from './methods.ts';
export {
  classificationBatch,
  classificationLoss,
  classifierLogits,
  createClassificationHead,
  encodeForClassification,
  headParameters,
  inputReading,
  type ClassificationBatch,
  type ClassificationHead,
  type InputReading,
  type Pooling,
} from './classifier.ts';
export { loadPretrained, type Pretrained, type LoadPretrainedOptions } from './pretrained.ts';
export { finetune, prepareFinetune, classify, DEFAULT_FINETUNE_OPTIONS, type FinetuneOptions, type FinetuneResult, type FinetuneEvents, type TunedClassifier, type FinetuneRun } from './finetune.ts';
export { saveFinetuned, loadFinetuned, FINETUNED_FORMAT } from './finetuned-checkpoint.ts';
export { formatFinetuneTable } from './report.ts';
