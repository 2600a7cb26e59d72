import { SpecError, type DataStagePlugin } from '@unilab/core';

/**
 * Mixture components: the documents a mixture weighs, chosen by source and language ("prose 0.7, code 0.2,
 * multilingual 0.1"; seqio's Mixture over Tasks, Raffel et al. 2020 §3.5.2). Without components a mixture weighs
 * whole sources. Components may not overlap: a document belongs to one component at most, so each weight is the
 * share of a set of documents that no other weight also counts. Kept documents that no component selects are left
 * out of the dataset (the report counts them per source).
 */
export interface MixtureComponentSpec {
  name: string;
  /** Take documents of these sources (default: every source). */
  sources?: string[];
  /** Only documents a language-ID stage labelled with one of these (ISO 639-1)... */
  languages?: string[];
  /** ...or with any language but these. */
  excludeLanguages?: string[];
  weight: number;
}

/** One member of the packed mixture: a component, or without components a whole source. */
export interface MixtureMember {
  name: string;
  weight: number;
  /** Where it is defined in the pipeline file, for errors. */
  path: string;
  sources: readonly string[];
  languages?: readonly string[];
  excludeLanguages?: readonly string[];
}

interface SourceLike {
  name: string;
  weight: number;
}

interface StageLike {
  plugin: Pick<DataStagePlugin<any>, 'name' | 'labels'>;
  sources?: string[];
}

export function mixtureMembers(sources: readonly SourceLike[], components: readonly MixtureComponentSpec[] | undefined): MixtureMember[] {
  if (!components) return sources.map((s, i) => ({ name: s.name, weight: s.weight, path: `pipeline.sources[${i}]`, sources: [s.name] }));
  return components.map((c, i) => ({
    name: c.name,
    weight: c.weight,
    path: `pipeline.mixture.components[${i}]`,
    sources: c.sources ?? sources.map((s) => s.name),
    ...(c.languages && { languages: c.languages }),
    ...(c.excludeLanguages && { excludeLanguages: c.excludeLanguages }),
  }));
}

export function memberSelects(member: MixtureMember, source: string, language: string | undefined): boolean {
  if (!member.sources.includes(source)) return false;
  if (member.languages) return language !== undefined && member.languages.includes(language);
  if (member.excludeLanguages) return language !== undefined && !member.excludeLanguages.includes(language);
  return true;
}

/** The member a kept document goes to, or -1 when none selects it. */
export function routeDocument(members: readonly MixtureMember[], source: string, language: string | undefined): number {
  return members.findIndex((m) => memberSelects(m, source, language));
}

/**
 * Check components against the pipeline's sources and stages: known sources, one way of choosing languages, a
 * language-labelling stage on every source a language choice draws from, no two components sharing a document, and
 * no source that no component takes. (A component that selects no document is only known after filtering.)
 */
export function validateComponents(components: readonly MixtureComponentSpec[], sources: readonly SourceLike[], stages: readonly StageLike[]): void {
  const names = new Set<string>();
  const sourceNames = sources.map((s) => s.name);
  components.forEach((c, i) => {
    const at = `pipeline.mixture.components[${i}]`;
    if (names.has(c.name)) throw new SpecError(`${at}.name`, `component name "${c.name}" is used twice`);
    names.add(c.name);
    (c.sources ?? []).forEach((s, k) => {
      if (!sourceNames.includes(s)) throw new SpecError(`${at}.sources[${k}]`, `no source is named "${s}"; sources: ${sourceNames.join(', ')}`);
    });
    if (c.languages && c.excludeLanguages) throw new SpecError(at, 'give "languages" (only these) or "excludeLanguages" (all but these), not both');
    if (c.languages || c.excludeLanguages) {
      for (const s of c.sources ?? sourceNames) {
        const labelled = stages.some((st) => st.plugin.labels?.includes('language') && (!st.sources || st.sources.includes(s)));
        if (!labelled)
          throw new SpecError(
            `${at}.${c.languages ? 'languages' : 'excludeLanguages'}`,
            `source "${s}" has no language-ID stage to label its documents; add one (e.g. {"stage": "language-id", "sources": ["${s}"]}) or choose the component's sources`,
          );
      }
    }
  });
  sources.forEach((s, i) => {
    if (s.weight !== 1) throw new SpecError(`pipeline.sources[${i}].weight`, 'the mixture\'s components set the weights; remove the source\'s weight');
  });
  const members = mixtureMembers(sources, components);
  for (let j = 0; j < members.length; j++)
    for (let i = 0; i < j; i++) {
      const shared = sharedSelection(members[i], members[j]);
      if (shared)
        throw new SpecError(members[j].path, `overlaps components[${i}] ("${members[i].name}"): both select ${shared}; a document may belong to one component only`);
    }
  sources.forEach((s, i) => {
    if (!members.some((m) => m.sources.includes(s.name))) throw new SpecError(`pipeline.sources[${i}]`, `no mixture component takes source "${s.name}"`);
  });
}

/** Documents two members would both select, described, or null when they cannot share one. */
function sharedSelection(a: MixtureMember, b: MixtureMember): string | null {
  const source = a.sources.find((s) => b.sources.includes(s));
  if (source === undefined) return null;
  const only = (m: MixtureMember, others: MixtureMember) =>
    m.languages?.find((l) => memberSelects(others, source, l)) ?? null;
  if (a.languages || b.languages) {
    const language = only(a.languages ? a : b, a.languages ? b : a);
    return language === null ? null : `documents of source "${source}" labelled "${language}"`;
  }
  const excluded = [...(a.excludeLanguages ?? []), ...(b.excludeLanguages ?? [])];
  return `documents of source "${source}"${excluded.length > 0 ? ` in any language but ${excluded.join(', ')}` : ''}`;
}
