import type { ArchitecturePlugin } from './architecture.ts';
import { productionMismatch } from './capabilities.ts';
import type { DataStagePlugin } from './data-stage.ts';
import type { ObjectivePlugin } from './objective.ts';
import { encodingMismatch, type PositionalEncodingPlugin } from './positional-encoding.ts';

export type AnyPlugin = ArchitecturePlugin<any> | ObjectivePlugin<any> | PositionalEncodingPlugin<any> | DataStagePlugin<any>;

/**
 * An explicit plugin registry: the application lists its plugins; nothing registers itself on import, and a spec
 * can only name plugins that were listed. One registry holds every kind (architectures, objectives, positional
 * encodings, data stages); every command and the API build it the same way (runner: createConfiguredRegistry).
 */
export class PluginRegistry {
  private readonly byKind = new Map<string, Map<string, AnyPlugin>>();

  constructor(plugins: readonly AnyPlugin[] = []) {
    for (const p of plugins) this.add(p);
  }

  add(plugin: AnyPlugin): this {
    const kind = this.byKind.get(plugin.kind) ?? new Map<string, AnyPlugin>();
    if (kind.has(plugin.name)) throw new Error(`plugin ${plugin.kind} "${plugin.name}" is registered twice`);
    kind.set(plugin.name, plugin);
    this.byKind.set(plugin.kind, kind);
    return this;
  }

  list(): AnyPlugin[] {
    return [...this.byKind.values()].flatMap((m) => [...m.values()]);
  }

  names(kind: AnyPlugin['kind']): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])];
  }

  architecture(name: string): ArchitecturePlugin<any> {
    return this.get('architecture', name) as ArchitecturePlugin<any>;
  }

  objective(name: string): ObjectivePlugin<any> {
    return this.get('objective', name) as ObjectivePlugin<any>;
  }

  positionalEncoding(name: string): PositionalEncodingPlugin<any> {
    return this.get('positional-encoding', name) as PositionalEncodingPlugin<any>;
  }

  dataStage(name: string): DataStagePlugin<any> {
    return this.get('data-stage', name) as DataStagePlugin<any>;
  }

  /** Every registered plugin of one kind. */
  ofKind<K extends AnyPlugin['kind']>(kind: K): Extract<AnyPlugin, { kind: K }>[] {
    return [...(this.byKind.get(kind)?.values() ?? [])] as Extract<AnyPlugin, { kind: K }>[];
  }

  /**
   * The registered architectures an objective can train or an encoding can serve, derived from what each declares
   * (capabilities.ts): built-in and configured plugins alike.
   */
  pairedArchitectures(plugin: ObjectivePlugin<any> | PositionalEncodingPlugin<any>): string[] {
    return this.ofKind('architecture')
      .filter((a) => (plugin.kind === 'objective' ? objectiveMismatch(plugin, a) : encodingMismatch(plugin, { positionDims: a.consumes.positionDims, attention: a.attention })) === null)
      .map((a) => a.name);
  }

  private get(kind: AnyPlugin['kind'], name: string): AnyPlugin {
    const p = this.byKind.get(kind)?.get(name);
    if (!p) throw new Error(`unknown ${kind} "${name}"; registered: ${this.names(kind).join(', ') || 'none'}`);
    return p;
  }
}

/** Why an objective's batches cannot train an architecture's model, or null when they can. */
export function objectiveMismatch(objective: ObjectivePlugin<any>, architecture: ArchitecturePlugin<any>): string | null {
  return productionMismatch(objective.produces, architecture.consumes);
}
