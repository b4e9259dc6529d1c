'use strict';
// Clauses 4 and 6: the `sync` sender runs in a worker thread, off the thread that runs the
// app's event loop, as Python's `def` sender runs in a thread of a pool. The main thread
// posts it one address per notification.
const { parentPort, workerData } = require('node:worker_threads');
const events = require('./events');
const { sendNotification } = require('./mailer');

events.init(workerData.events, 'sync-sender');
parentPort.on('message', ({ email }) => {
  sendNotification(email).catch((err) => process.stderr.write(`sync sender: ${err.stack}\n`));
});
