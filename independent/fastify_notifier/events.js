'use strict';
// Clause 11: the event recorder. One JSON line per event, appended to AFTERWARD_EVENTS.
// The main thread and the `def` sender's worker thread share one lock and one counter (a
// SharedArrayBuffer), so `seq` increases in the file's order across both threads.
const fs = require('node:fs');
const { isMainThread, threadId } = require('node:worker_threads');

let shared = null; // Int32Array [lock, seq]
let threadName = isMainThread ? 'main' : `worker-${threadId}`;

function init(buffer, name) {
  shared = new Int32Array(buffer ?? new SharedArrayBuffer(8));
  if (name) threadName = name;
  return shared.buffer;
}

// Python's time.monotonic() is CLOCK_MONOTONIC in seconds; process.hrtime is the same clock
// in nanoseconds (performance.now() counts from each thread's own start instead).
function monotonic() {
  return Number(process.hrtime.bigint()) / 1e9;
}

function record(event, requestId, fields = {}) {
  const path = process.env.AFTERWARD_EVENTS;
  if (!path) return;
  if (shared === null) init();
  while (Atomics.compareExchange(shared, 0, 0, 1) !== 0) Atomics.wait(shared, 0, 1);
  try {
    const line = {
      event, request_id: requestId, thread_id: threadId, thread_name: threadName,
      // "on the event loop" is the app's own loop, the main thread; the `def` sender's
      // worker thread is the thread that is not it.
      on_loop: isMainThread, pid: process.pid, t: monotonic(), seq: Atomics.add(shared, 1, 1) + 1,
      ...fields,
    };
    fs.appendFileSync(path, JSON.stringify(line) + '\n');
  } finally {
    Atomics.store(shared, 0, 0);
    Atomics.notify(shared, 0, 1);
  }
}

module.exports = { init, record, monotonic };
