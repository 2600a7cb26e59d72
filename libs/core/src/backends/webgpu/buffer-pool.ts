/// <reference types="@webgpu/types" />

/**
 * GPU buffers recycled by size class. A training step allocates and frees the same shapes every step, so after the
 * first step every allocation is a pool hit. Size classes step by a quarter octave (at most 25% slack).
 *
 * Reuse is safe without waiting for the GPU: commands run in submission order, so a buffer freed by one op and
 * handed to the next is only written after the earlier reads (the backend never writes a pooled buffer through
 * queue.writeBuffer while commands that might use it are still being recorded; see WebGpuBackend.write).
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Bytes of every buffer this pool created and has not destroyed. */
  reservedBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly maxBufferSize: number,
  ) {}

  static sizeClass(bytes: number): number {
    const b = Math.max(16, bytes);
    const step = Math.max(16, 2 ** (Math.floor(Math.log2(b)) - 2));
    return Math.ceil(b / step) * step;
  }

  /** A buffer of at least `bytes`; `fresh` buffers are zero-filled (WebGPU zero-initialises new buffers). */
  acquire(bytes: number): { buffer: GPUBuffer; capacity: number; fresh: boolean } {
    const capacity = Math.min(BufferPool.sizeClass(bytes), Math.max(bytes, this.maxBufferSize));
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused) return { buffer: reused, capacity, fresh: false };
    const buffer = this.device.createBuffer({ size: capacity, usage: this.usage });
    this.reservedBytes += capacity;
    return { buffer, capacity, fresh: true };
  }

  release(buffer: GPUBuffer, capacity: number): void {
    let list = this.free.get(capacity);
    if (!list) this.free.set(capacity, (list = []));
    list.push(buffer);
  }

  /** Destroy the cached free buffers (live ones stay with their owners). */
  trim(): void {
    for (const [capacity, list] of this.free) {
      for (const b of list) b.destroy();
      this.reservedBytes -= capacity * list.length;
    }
    this.free.clear();
  }
}
