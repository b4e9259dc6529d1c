'use strict';
// Clauses 3, 9 and 10: one e-mail, a round of attempts with backoff, failures as events and
// one ERROR line for the `afterward.mailer` logger. Runs on the main thread (the `async`
// sender) and in the worker thread (the `sync` sender) alike.
const SMTPConnection = require('nodemailer/lib/smtp-connection');
const { record } = require('./events');

const SUBJECT = 'Notification';
const NOTIFICATION = 'some notification';

function settings(env = process.env) {
  return {
    host: env.AFTERWARD_SMTP_HOST ?? '127.0.0.1',
    port: Number(env.AFTERWARD_SMTP_PORT ?? 8025),
    mailFrom: env.AFTERWARD_MAIL_FROM ?? 'afterward@localhost',
    timeout: Number(env.AFTERWARD_SMTP_TIMEOUT ?? 30),
    attempts: Number(env.AFTERWARD_SMTP_ATTEMPTS ?? 4),
    backoff: Number(env.AFTERWARD_SMTP_BACKOFF ?? 0.2),
  };
}

// The message is written out here rather than by nodemailer's composer, which rewrites
// addresses (it lower-cases and punycodes the domain): the spec's To header is `email` as given.
function message(email, config) {
  return [
    `From: ${config.mailFrom}`, `To: ${email}`, `Subject: ${SUBJECT}`, `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit',
    '', NOTIFICATION, '',
  ].join('\r\n');
}

// One attempt: connect, send, then QUIT. Resolves once the server accepted the message.
function deliver(email, config) {
  const ms = config.timeout * 1000;
  const conn = new SMTPConnection({
    host: config.host, port: config.port, secure: false, ignoreTLS: true,
    connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms,
  });
  return new Promise((resolve, reject) => {
    let accepted = false;
    conn.on('error', (err) => { if (!accepted) reject(err); });
    conn.connect(() => {
      conn.send({ from: config.mailFrom, to: [email] }, message(email, config), (err) => {
        if (err) { conn.close(); reject(err); return; }
        accepted = true; // a failed goodbye after this is no failed e-mail
        resolve();
        conn.quit();
      });
    });
  });
}

// 4xx replies, refused or dropped connections and time-outs are temporary; 5xx replies are not.
function isTemporary(err) {
  if (typeof err.responseCode === 'number') return err.responseCode >= 400 && err.responseCode < 500;
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS'].includes(err.code);
}

function backoff(config, attempt) {
  return Math.min(config.backoff * 2 ** (attempt - 1), 2);
}

function logError(text) {
  process.stderr.write(`ERROR:afterward.mailer:${text}\n`);
}

async function sendNotification(email) {
  const config = settings();
  for (let attempt = 1; attempt <= config.attempts; attempt += 1) {
    record('mail_started', email, { attempt });
    try {
      await deliver(email, config);
    } catch (err) {
      const temporary = isTemporary(err);
      const final = !temporary || attempt >= config.attempts;
      const error = `${err.code ?? err.name}: ${err.message}`;
      record('mail_failed', email, { attempt, error, temporary, final });
      if (final) {
        logError(`notification to ${email} failed after ${attempt} attempt(s): ${error}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, backoff(config, attempt) * 1000));
      continue;
    }
    record('mail_sent', email, { attempt });
    return;
  }
}

module.exports = { sendNotification, settings, isTemporary, backoff, message };
