// Runs a callback on the event loop's next turn — after the I/O callbacks and timers already due, not
// after a fixed delay: Node's setImmediate, else a MessageChannel message (browsers, workers; no 4 ms
// clamp), else a 0 ms timer.
type Immediate = (fn: () => void) => unknown;

const g = globalThis as { setImmediate?: Immediate; MessageChannel?: typeof MessageChannel }; // host globals, present or not

function channelTurn(): Immediate {
  const Channel = g.MessageChannel;
  if (!Channel) return (fn) => setTimeout(fn, 0);
  const queue: Array<() => void> = [];
  const channel = new Channel();
  channel.port1.onmessage = () => {
    for (const fn of queue.splice(0)) fn();
  };
  // The port must not keep a Node process alive (where MessageChannel exists without setImmediate: none today).
  (channel.port1 as { unref?: () => void }).unref?.(); // Node's MessagePort has unref; browsers' has not
  return (fn) => {
    queue.push(fn);
    if (queue.length === 1) channel.port2.postMessage(undefined);
  };
}

export const nextTurn: Immediate = g.setImmediate ? (fn) => g.setImmediate!(fn) /* checked just before */ : channelTurn();
