// @unilab/eval: the evaluation suite shared by `unilab eval`, the API's eval jobs and `unilab sweep`.
export * from './tasks/index.ts';
export { proportion, wilsonInterval, Z95, type Proportion } from './stats/proportion.ts';
export { compareIndependent, comparePaired, signTestP, type Comparison } from './stats/compare.ts';
export type { ScoreFn, ScoreRequest, ContinuationScore } from './few-shot/score-fn.ts';
export { evaluateFewShot, type FewShotOptions, type FewShotResult, type FewShotItem } from './few-shot/few-shot.ts';
export { fewShotContext, choiceContinuation, FEWSHOT_DELIMITER, TARGET_DELIMITER } from './few-shot/prompt.ts';
export {
  scoringModel,
  continuationFormat,
  describeContinuationFormat,
  scoreTargets,
  loglikelihoods,
  type ScoringOptions,
  type ScoringModel,
  type ContinuationTask,
  type TokenScoringRequest,
  type TargetScore,
  type LoglikelihoodRequest,
} from './scoring.ts';
export { loadScoringModel } from './load-scoring-model.ts';
export { rowLogProbs, type TokenQuery, type TokenLogProb, type RowScoringOptions } from './row-log-probs.ts';
export { bootstrapRatio, bootstrapMean, type Estimate, type BootstrapOptions } from './stats/bootstrap.ts';
export { modelScoreFn, fewShotReading } from './few-shot/model-score-fn.ts';
export { SUITES, SUITE_NAMES, suiteConfig, type SuiteName, type SuiteConfig } from './suite/suite-config.ts';
export { suiteChoiceTasks } from './suite/suite-tasks.ts';
export { runEvalSuite, type SuiteRunOptions } from './suite/run-suite.ts';
export type { EvalReport, FewShotSection, FewShotFigure } from './suite/eval-report.ts';
export { formatEvalReport } from './suite/format-report.ts';
export { reportJson } from './suite/report-json.ts';
export { bitsPerByte, documentNll, type BitsPerByteOptions, type BitsPerByteReport, type DocumentNll, type DomainBitsPerByte } from './bits-per-byte.ts';
export { modeNll, EVAL_MODES, SEQ2SEQ_TARGET_FRACTION, type EvalMode, type ModeNll, type ModeNllOptions } from './mode-nll.ts';
export { scoreInfilling, infillingSpans, describeInfillingFormat, pieceRng, INFILLING_NOISE, type InfillingScore } from './infilling.ts';
export { heldOutDomains, utf8Length, utf8Prefix, DEFAULT_UDHR_LANGUAGES, type EvalDomain, type DomainOptions } from './corpora/held-out-domains.ts';
export { BROWN_GENRES, brownGenre } from './corpora/brown-genres.ts';
export { tokenBytes } from './token-bytes.ts';
export { evaluateLikelihood, formatLikelihoodReport, type LikelihoodReport, type LikelihoodOptions } from './report.ts';
export { compareReports, type FigureComparison } from './suite/compare-reports.ts';
export * from './finetune/index.ts';
export { sweepCellEvaluator, evalSummary, cellEvalFile, type SweepEvaluatorOptions } from './study/cell-evaluator.ts';
export { readSweepResults, conditionKey, type SweepResults, type Condition, type CellResult } from './study/sweep-results.ts';
export { reportMetrics, conditionFigure, compareFigures, cellFigure, BITS_PER_BYTE, FEW_SHOT, type MetricDef, type ConditionFigure, type MetricComparison } from './study/condition-metrics.ts';
export { seedMean, welchInterval, tQuantile975, type SeedMean } from './study/seed-statistics.ts';
export { paradigmFindings, judge, conditionSide, type Finding, type Verdict, type MetricVerdict, type Expectation } from './study/findings.ts';
export { analysisFindings, meanEffectiveRank, sourceShareChange } from './study/analysis-findings.ts';
export { studyAnalyses, analysedCells, ANALYSES_DIR, type StudyAnalyses, type RankAnalysis, type DegenerationAnalysis, type AnalysisOptions } from './study/study-analyses.ts';
export { relativeTable, relativeChange, absoluteRows, type RelativeTable } from './study/ul2-table.ts';
export { studyReport, type StudyReport, type StudyReportOptions } from './study/study-report.ts';
export { writeStudyReport, reportHtml } from './study/report-files.ts';
export { lineChart, intervalChart, niceTicks } from './study/svg-plots.ts';
export * from './align/index.ts';
