/// <reference types="@webgpu/types" />
import { BufferUsage } from './gpu-constants.ts';

/**
 * Records the backend's work into one command encoder and one long compute pass until something needs results on
 * the host (a read) — so a training step is a handful of command buffers, not one per op. Dispatches inside one
 * compute pass are ordered (each is its own usage scope), so consecutive kernels see each other's writes.
 *
 * Uniform parameters go into CPU-side chunks (one 256-byte-aligned slot per dispatch) uploaded with
 * queue.writeBuffer right before the submit that uses them; queue operations run in order, so reusing the
 * chunks for the next submission cannot disturb the previous one.
 */
const CHUNK_BYTES = 1 << 16;

interface UniformChunk {
  buffer: GPUBuffer;
  data: ArrayBuffer;
  view: DataView;
  used: number;
}

export class CommandRecorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly chunks: UniformChunk[] = [];
  private chunkIndex = 0;
  private readonly afterSubmit: (() => void)[] = [];
  /** Counters for tests and benchmarks. */
  submits = 0;
  dispatches = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly uniformAlign: number,
  ) {}

  get pending(): boolean {
    return this.encoder !== null;
  }

  computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    return this.pass;
  }

  /** The encoder for copies; ends the open compute pass (copies may not run inside one). */
  commandEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /** A slot of `bytes` in this submission's uniform memory. */
  uniform(bytes: number): { buffer: GPUBuffer; offset: number; view: DataView } {
    let chunk = this.chunks[this.chunkIndex];
    const aligned = chunk ? Math.ceil(chunk.used / this.uniformAlign) * this.uniformAlign : 0;
    if (!chunk || aligned + bytes > CHUNK_BYTES) {
      if (chunk) this.chunkIndex++;
      chunk = this.chunks[this.chunkIndex];
      if (!chunk) {
        const data = new ArrayBuffer(CHUNK_BYTES);
        chunk = {
          buffer: this.device.createBuffer({ size: CHUNK_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
          data,
          view: new DataView(data),
          used: 0,
        };
        this.chunks.push(chunk);
      }
      return this.take(chunk, 0, bytes);
    }
    return this.take(chunk, aligned, bytes);
  }

  private take(chunk: UniformChunk, offset: number, bytes: number) {
    chunk.used = offset + bytes;
    return { buffer: chunk.buffer, offset, view: chunk.view };
  }

  /** Run `fn` once the current recording has been submitted (e.g. destroy a staging buffer it copies from). */
  onSubmitted(fn: () => void): void {
    this.afterSubmit.push(fn);
  }

  submit(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    for (const chunk of this.chunks) {
      if (chunk.used > 0) this.device.queue.writeBuffer(chunk.buffer, 0, chunk.data, 0, Math.ceil(chunk.used / 4) * 4);
      chunk.used = 0;
    }
    this.chunkIndex = 0;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submits++;
    for (const fn of this.afterSubmit.splice(0)) fn();
  }

  destroy(): void {
    for (const chunk of this.chunks) chunk.buffer.destroy();
    this.chunks.length = 0;
  }
}
