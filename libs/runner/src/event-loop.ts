/**
 * Let the event loop run once (timers, I/O, messages to a worker) before continuing. A training step on a backend
 * whose reads resolve at once never leaves the microtask queue, so without this a cancellation message to the
 * worker would wait for the next file write. A MessageChannel round trip is a macrotask without setTimeout's
 * 1 ms clamp (web standard: Node and Deno alike).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
