'use strict';
// The notification spec (shared/SPEC.md) on Fastify, written from the spec alone.
//
//   npm ci && node server.js --port 8000      # configured by the AFTERWARD_* variables (clause 9)
//
// - A route's `preHandler` hook, Fastify's step that runs before the handler, checks the
//   request and registers the log task (clauses 2 and 8); the handler registers the e-mail.
// - The `onResponse` hook runs once the response is sent: it runs the request's tasks in
//   order, the log line first, then the e-mail (clauses 2 and 5).
// - `sender=async` sends on the main thread's event loop; `sender=sync` hands the address to
//   a worker thread (sync-sender.js), off the thread that answers requests (clauses 4 and 6).
const fs = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Worker } = require('node:worker_threads');
const Fastify = require('fastify');
const events = require('./events');
const { check, InvalidInput } = require('./checks');
const { sendNotification } = require('./mailer');

const SENT = { message: 'Notification sent in the background' };

const sharedEvents = events.init();
const syncSender = new Worker(path.join(__dirname, 'sync-sender.js'), { workerData: { events: sharedEvents } });

function logPath() {
  return process.env.AFTERWARD_LOG_PATH || path.join(os.tmpdir(), 'afterward.log');
}

async function writeLog(line) {
  await fs.appendFile(logPath(), `${line}\n`, 'utf8');
  events.record('log_written', line);
}

// Repeated query parameters come as an array; the last one counts.
function param(query, name) {
  const value = query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

// The spec's Content-Type is `application/json` exactly: Fastify appends `; charset=utf-8` to a
// JSON body it serializes, and leaves a Buffer's declared type as it is.
function json(reply, status, body) {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}

async function checkedWithLog(request, reply) {
  const q = param(request.query, 'q');
  try {
    check(request.params.email, q, param(request.query, 'sender') ?? 'sync');
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    return json(reply, 422, { error: 'invalid_input', field: err.field, detail: err.detail });
  }
  if (q) request.tasks.push(() => writeLog(`found query: ${q}`));
}

async function runTasks(tasks) {
  for (const task of tasks) await task();
}

function build() {
  const app = Fastify({ routerOptions: { maxParamLength: 16384 } });
  app.decorateRequest('tasks', null);
  app.addHook('onRequest', async (request) => { request.tasks = []; });
  app.addHook('onResponse', async (request) => {
    if (request.tasks.length) runTasks(request.tasks).catch((err) => process.stderr.write(`task: ${err.stack}\n`));
  });

  app.post('/send-notification/:email', { preHandler: checkedWithLog }, async (request, reply) => {
    const { email } = request.params;
    if ((param(request.query, 'sender') ?? 'sync') === 'async') {
      request.tasks.push(() => sendNotification(email));
    } else {
      request.tasks.push(async () => syncSender.postMessage({ email }));
    }
    return json(reply, 200, SENT);
  });

  app.get('/health', async (request, reply) => json(reply, 200, { status: 'ok' }));
  return app;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8000' } } });
  build().listen({ host: values.host, port: Number(values.port) }).then((address) => {
    process.stdout.write(`listening on ${address}\n`);
  }, (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
}

module.exports = { build };
