import {
  Rng,
  SpecError,
  arrayOf,
  field,
  json,
  jsonSchemaOf,
  number,
  object,
  objectiveMismatch,
  string,
  type Batch,
  type Batcher,
  type DocumentStream,
  type ObjectiveContext,
  type PluginRegistry,
  type RngState,
  type Schema,
} from '@unilab/core';

/**
 * A spec's objective: one objective plugin with its config, or a mixture of them with rates, seqio-Mixture style
 * (Raffel et al. 2020, §3.5.2: examples-proportional / temperature mixing sets each task's rate; here the rates are
 * given). UL2 (Tay et al. 2022) mixes denoisers per example inside one plugin; a mixture here mixes whole plugins
 * per batch, so any objectives the architecture supports can be combined without a new plugin.
 *
 *   { "name": "clm", "config": {} }
 *   { "mixture": [ { "name": "clm", "weight": 3 }, { "name": "span-corruption", "config": { ... }, "weight": 1 } ] }
 */
export interface SingleObjective {
  name: string;
  config: Record<string, unknown>;
}

export interface ObjectiveMixtureComponent extends SingleObjective {
  /** Relative rate of this objective's batches (normalised over the mixture). */
  weight: number;
}

export interface ObjectiveMixture {
  mixture: ObjectiveMixtureComponent[];
}

export type ObjectiveSpec = SingleObjective | ObjectiveMixture;

const singleSchema = object({ name: field(string({ nonEmpty: true })), config: field(json(), {}) });
const mixtureSchema = object({
  mixture: field(
    arrayOf(object({ name: field(string({ nonEmpty: true })), config: field(json(), {}), weight: field(number({ greaterThan: 0 })) }), { minLength: 1 }),
  ),
});

export const objectiveSpecSchema: Schema<ObjectiveSpec> = {
  describe: '{ name, config } or { mixture: [{ name, config, weight }, ...] }',
  jsonSchema: { oneOf: [jsonSchemaOf(singleSchema), jsonSchemaOf(mixtureSchema)] },
  parse(value, path) {
    const isMixture = typeof value === 'object' && value !== null && 'mixture' in value;
    if (isMixture && 'name' in value)
      throw new SpecError(path, 'expected either { name, config } (one objective) or { mixture: [...] } (several), not both');
    return isMixture ? mixtureSchema.parse(value, path) : singleSchema.parse(value, path);
  },
};

export const isObjectiveMixture = (objective: ObjectiveSpec): objective is ObjectiveMixture => 'mixture' in objective;

/** The objectives a spec trains, each with its rate and its path below the objective field (`` or `.mixture[i]`). */
export function objectiveComponents(objective: ObjectiveSpec): (ObjectiveMixtureComponent & { path: string })[] {
  if (!isObjectiveMixture(objective)) return [{ ...objective, weight: 1, path: '' }];
  return objective.mixture.map((c, i) => ({ ...c, path: `.mixture[${i}]` }));
}

/** A short name for logs and reports: "clm", or "clm 75% + span-corruption 25%". */
export function objectiveLabel(objective: ObjectiveSpec): string {
  const components = objectiveComponents(objective);
  if (components.length === 1 && !isObjectiveMixture(objective)) return components[0].name;
  const total = components.reduce((s, c) => s + c.weight, 0);
  return components.map((c) => `${c.name} ${+((100 * c.weight) / total).toFixed(1)}%`).join(' + ');
}

/**
 * The special tokens a tokenizer must reserve for these objectives: the union of every component's, in order of
 * first appearance (so a spec with one objective reserves exactly what it did before mixtures existed).
 */
export function objectiveSpecialTokens(objectives: readonly ObjectiveSpec[], registry: PluginRegistry): string[] {
  const names = new Set<string>();
  for (const objective of objectives)
    for (const component of objectiveComponents(objective)) for (const token of registry.objective(component.name).specialTokens) names.add(token);
  return [...names];
}

/** Every component must be a registered objective that can train the architecture, with a config its schema accepts. */
export function validateObjective(objective: ObjectiveSpec, architecture: string, registry: PluginRegistry, path: string): void {
  const available = registry.names('objective');
  for (const component of objectiveComponents(objective)) {
    const at = `${path}${component.path}`;
    if (!available.includes(component.name))
      throw new SpecError(`${at}.name`, `unknown objective "${component.name}"; available: ${available.join(', ')}`);
    const plugin = registry.objective(component.name);
    const why = objectiveMismatch(plugin, registry.architecture(architecture));
    if (why)
      throw new SpecError(
        `${at}.name`,
        `objective "${plugin.name}" cannot train architecture "${architecture}": ${why}; it trains ${registry.pairedArchitectures(plugin).join(', ') || 'no registered architecture'}`,
      );
    plugin.configSchema.parse(component.config, `${at}.config`);
  }
}

/**
 * Decoder positions per row an encoder-decoder needs under these objectives for encoder rows of `encoderLen`: the
 * most any component asks for (its plugin's decoderLength, else encoderLen), since a mixture's batches share one shape.
 */
export function objectiveDecoderLength(objective: ObjectiveSpec, registry: PluginRegistry, encoderLen: number): number {
  let longest = 0;
  for (const component of objectiveComponents(objective)) {
    const plugin = registry.objective(component.name);
    const config = plugin.configSchema.parse(component.config, `spec.objective${component.path}.config`);
    longest = Math.max(longest, plugin.decoderLength ? plugin.decoderLength(config, encoderLen) : encoderLen);
  }
  return longest;
}

/**
 * The batcher of a spec's objective over a document stream. One objective keeps its plugin's batcher (and its
 * checkpoint state) unchanged; a mixture gives each component a batcher over the same stream, each with an RNG forked
 * from the seed, and picks each batch's objective with the seed's own RNG.
 */
export function createObjectiveBatcher(objective: ObjectiveSpec, registry: PluginRegistry, context: ObjectiveContext, documents: DocumentStream, seed: number): Batcher {
  const rng = new Rng(seed);
  const create = (component: SingleObjective, path: string, componentRng: Rng) => {
    const plugin = registry.objective(component.name);
    return plugin.createBatcher(plugin.configSchema.parse(component.config, path), context, documents, componentRng);
  };
  if (!isObjectiveMixture(objective)) return create(objective, 'spec.objective.config', rng);
  const components = objective.mixture.map((c, i) => ({ weight: c.weight, batcher: create(c, `spec.objective.mixture[${i}].config`, rng.fork()) }));
  return mixBatchers(components, documents, rng);
}

export interface ObjectiveMixtureState {
  /** The RNG that picks each batch's objective. */
  pick: RngState;
  /** Cursor of the document stream the components share. */
  documents: unknown;
  /** Each component batcher's own state, in mixture order. */
  components: unknown[];
  /** Batches each component has made so far: the realised mixture. */
  batches: number[];
}

export interface ObjectiveMixtureBatcher extends Batcher {
  state(): ObjectiveMixtureState;
}

/**
 * Mixes batchers per batch: each batch comes whole from one component, drawn with probability weight / Σweight.
 * Mixing per batch rather than per example keeps every batch homogeneous in layout (an encoder-decoder objective's
 * batches carry encoder inputs, GLM's carry block positions, a decoder-only objective's neither), so the model sees
 * the same kind of batch an unmixed run would; over many steps each objective's share of the updates is its rate.
 *
 * The components read one shared document stream, so each document goes to one objective and an epoch means what it
 * means for a single objective. A component keeps the part of a document it has not used yet, and its state records
 * where that document starts; its restore() may move the shared stream to re-read it, so the mixture restores every
 * component first and then puts the stream back at its own saved cursor. Resume is therefore bit-identical.
 */
export function mixBatchers(components: readonly { weight: number; batcher: Batcher }[], documents: DocumentStream, rng: Rng): ObjectiveMixtureBatcher {
  if (components.length === 0) throw new Error('objective mixture: no components');
  const total = components.reduce((s, c) => s + c.weight, 0);
  if (!(total > 0) || components.some((c) => !(c.weight > 0)))
    throw new Error(`objective mixture: every weight must be > 0, got ${components.map((c) => c.weight).join(', ')}`);
  let pick = rng;
  let batches = components.map(() => 0);

  function choose(): number {
    let u = pick.uniform() * total;
    for (let i = 0; i < components.length; i++) {
      u -= components[i].weight;
      if (u < 0) return i;
    }
    return components.length - 1;
  }

  return {
    next(): Batch {
      const i = choose();
      batches[i]++;
      return components[i].batcher.next();
    },
    state: () => ({ pick: pick.state(), documents: documents.cursor(), components: components.map((c) => c.batcher.state()), batches: [...batches] }),
    restore(state: unknown) {
      const saved = state as ObjectiveMixtureState;
      if (!Array.isArray(saved?.components) || saved.components.length !== components.length || !Array.isArray(saved.batches))
        throw new Error(
          `objective mixture: the saved state holds ${Array.isArray(saved?.components) ? saved.components.length : 'no'} components, this mixture has ${components.length}`,
        );
      components.forEach((c, i) => c.batcher.restore(saved.components[i]));
      documents.seek(saved.documents);
      pick = new Rng(saved.pick);
      batches = [...saved.batches];
    },
  };
}
