import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '@unilab/runner';
import { openApiDocument } from '../src/openapi.ts';

type Node = { type?: string; properties?: Record<string, Node>; required?: string[]; default?: unknown; enum?: unknown[]; additionalProperties?: boolean; [k: string]: unknown };
const schemas = openApiDocument.components.schemas as unknown as Record<string, Node>;

describe('the OpenAPI document describes the job spec from the schemas that parse it', () => {
  it('lists every field with its bounds, values and default, as the parser holds them', () => {
    const spec = schemas.JobSpec;
    expect(Object.keys(spec.properties!)).toEqual(['name', 'seed', 'backend', 'precision', 'data', 'model', 'objective', 'train', 'outDir', 'samplePrompts', 'stages']);
    expect(spec.properties!.backend.enum).toEqual(['wasm', 'reference', 'webgpu']);
    expect(spec.properties!.precision).toMatchObject({ enum: ['f32', 'bf16-matmul'], default: 'f32' });
    expect(spec.properties!.train.properties!.lr).toEqual({ type: 'number', exclusiveMinimum: 0, maximum: 1, default: 3e-3 });
    expect(spec.properties!.train.properties!.schedule).toEqual({ enum: ['cosine', 'wsd', 'constant'], default: 'cosine' });
    expect(schemas.Stage.required).toEqual(['name']);
    expect(schemas.Stage.properties!.gate.properties!.action.enum).toEqual(['continue', 'retry', 'stop']);
    expect((schemas.Objective.oneOf as Node[]).map((o) => o.required)).toEqual([['name'], ['mixture']]);
  });

  it('every default it states is one the parser accepts, and an unlisted field is one it refuses', () => {
    const spec = schemas.JobSpec;
    const defaults = Object.fromEntries(Object.entries(spec.properties!).flatMap(([k, p]) => (p.default === undefined ? [] : [[k, p.default]])));
    const job = parseJobSpec(defaults);
    expect(job.stages[0].spec.train).toEqual(spec.properties!.train.default);
    for (const [section, node] of Object.entries(spec.properties!).filter(([, p]) => p.additionalProperties === false)) {
      expect(() => parseJobSpec({ [section]: { notInTheDocument: 1 } })).toThrow(new RegExp(`^spec\\.${section}\\.notInTheDocument: unknown field; allowed fields are ${Object.keys(node.properties!).join(', ')}$`));
    }
  });
});
