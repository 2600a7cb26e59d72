import type { Batch } from '../batch.ts';
import { uploadBatch } from '../batch-tensors.ts';
import type { ArrayBackend } from '../backends/array-backend.ts';
import type { Model } from '../plugins/architecture.ts';
import { Rng } from '../rng.ts';
import { crossEntropy } from './ops.ts';
import { Tape } from './tape.ts';

export interface GradientSample {
  /** `<parameter name>[<flat index>]`. */
  where: string;
  analytic: number;
  numeric: number;
}

/**
 * A whole model through the tape against central finite differences: backpropagate the batch's masked
 * cross-entropy once, then for `samplesPerParameter` random coordinates of every parameter compare the gradient with
 * (L(θ + h) - L(θ - h)) / 2h. Meant for the float64 reference backend (finite differences need double precision);
 * plugin authors can check a new architecture the same way. The loss is evaluated on a recording tape so that
 * training-only behaviour (dropout) is the same in both.
 */
export function sampleModelGradients(
  backend: ArrayBackend<unknown>,
  model: Model,
  batch: Batch,
  options: { samplesPerParameter: number; seed: number; h?: number },
): GradientSample[] {
  const h = options.h ?? 1e-6;
  const lossOf = (): number => {
    const tape = new Tape(backend);
    const inputs = uploadBatch(tape, batch);
    const loss = backend.readFloat(crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask).value)[0];
    tape.release();
    return loss;
  };
  const tape = new Tape(backend);
  const inputs = uploadBatch(tape, batch);
  tape.backward(crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask));
  tape.release();
  const rng = new Rng(options.seed);
  const samples: GradientSample[] = [];
  for (const p of model.params) {
    const grad = backend.readFloat(p.grad);
    const view = backend.floatView(p.value);
    for (let s = 0; s < options.samplesPerParameter; s++) {
      const i = rng.int(p.value.size);
      const saved = view[i];
      view[i] = saved + h;
      const up = lossOf();
      view[i] = saved - h;
      const down = lossOf();
      view[i] = saved;
      samples.push({ where: `${p.name}[${i}]`, analytic: grad[i], numeric: (up - down) / (2 * h) });
    }
  }
  return samples;
}
