import type { PipelineDocument } from '@unilab/core';

/** Where a reader met bad input: the file, the 1-based line (0 for the whole file) and what was wrong. */
export interface ReadProblem {
  file: string;
  line: number;
  /** A stable category for the report's counts: empty_file, binary_file, invalid_utf8, too_long, malformed_json, ... */
  code: string;
  message: string;
}

/**
 * Readers never throw on bad input: they yield a problem instead, which the pipeline reports with file and line and
 * counts as a dropped document. Only a missing path or an unreadable directory is an error (nothing to read at all).
 */
export type ReadItem = { document: PipelineDocument } | { problem: ReadProblem };
