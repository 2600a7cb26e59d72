import { lineChart } from '../study/svg-plots.ts';
import type { PpoIteration } from './ppo.ts';

/**
 * A PPO run's curves as one standalone SVG, three panels stacked (their scales differ): the reward model's mean score
 * of the rollouts, with the verifier's success rate beside it when the run had a verifier (a rising score with a flat
 * verifier is what reward hacking looks like); the KL to the SFT model with the budget the run stops at; and β.
 */
export function ppoCurvesSvg(history: readonly PpoIteration[], options: { title: string; klBudget: number; width?: number }): string {
  const width = options.width ?? 640;
  const x = (f: (it: PpoIteration) => number) => history.map((it) => [it.iteration, f(it)] as const);
  const verifier = history.every((it) => it.verifierSuccess !== null);
  const panels = [
    lineChart({
      title: `${options.title}: reward of the rollouts`,
      xLabel: 'PPO iteration',
      yLabel: verifier ? 'mean score / success rate' : 'mean score',
      series: [{ name: 'reward model score', points: x((it) => it.reward) }, ...(verifier ? [{ name: 'verifier success', points: x((it) => it.verifierSuccess!), dashed: true }] : [])],
      width,
      height: 260,
    }),
    lineChart({
      title: 'KL to the SFT model (nats per response)',
      xLabel: 'PPO iteration',
      yLabel: 'KL',
      series: [
        { name: 'KL(π ‖ π_SFT)', points: x((it) => it.kl) },
        ...(Number.isFinite(options.klBudget) ? [{ name: `KL budget ${options.klBudget}`, points: x(() => options.klBudget), dashed: true }] : []),
      ],
      width,
      height: 220,
    }),
    lineChart({ title: 'KL coefficient β', xLabel: 'PPO iteration', yLabel: 'β', series: [{ name: 'β', points: x((it) => it.beta) }], width, height: 200 }),
  ];
  const heights = panels.map((svg) => Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)![1]));
  const total = heights.reduce((a, h) => a + h, 0);
  let y = 0;
  const nested = panels.map((svg, i) => {
    const placed = svg.replace('<svg ', `<svg x="0" y="${y}" `);
    y += heights[i];
    return placed;
  });
  return [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${total}" width="${width}" height="${total}">`, ...nested, '</svg>', ''].join('\n');
}
