"""One-clause mutants of the independent apps (independent/): each breaks one sentence of shared/SPEC.md.

A mutant is named `c<clause>-<what it breaks>`, quotes the sentence it breaks, and lists its
edits: (file in the app's folder, text as it reads, text it gets), each text found exactly once.
Most are what an implementer could plausibly write; a few are the framework's own default
(Fastify's `; charset=utf-8`, a JavaScript string's `.length`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MUTANTS", "Mutant"]


@dataclass(frozen=True)
class Mutant:
    app: str
    name: str
    clause: int
    sentence: str  # the spec's words it breaks
    edits: tuple[tuple[str, str, str], ...]
    #: Why the contract tier, as a user runs it on this app, cannot see the break: declared only
    #: for a survivor (the page shows it; a killed mutant with a reason is refused).
    unseen: str = ""


S1_BODY = 'answers at once `200` with the JSON body `{"message": "Notification sent in the background"}`'
S1_TYPE = "(`Content-Type: application/json`)"
S2_WHEN = 'When `q` is given and not empty, the request registers `write_log("found query: <q>")`'
S2_ORDER = "The log line is in the log (`AFTERWARD_LOG_PATH`) before the e-mail reaches the SMTP server."
S3_TO = "sends exactly one e-mail over SMTP to `email` (the envelope's one recipient, and the `To` header)"
S3_FROM = "from `AFTERWARD_MAIL_FROM` (the envelope's sender, and the `From` header)"
S3_SUBJECT = "subject `Notification`"
S3_BODY = "body `some notification`"
S3_ONE = "sends exactly one e-mail over SMTP"
S4 = "`?sender=sync` (the default) picks the `def` sender"
S5 = (
    "The client has the whole answer while the e-mail is still being sent "
    "(the SMTP server holding its reply)."
)
S6 = "The `def` sender runs off the event-loop thread: while it waits on SMTP, other requests are answered."
S7 = "`GET /health` answers `200` when the app is ready."
S8_BODY = 'answered `422` with `{"error": "invalid_input", "field": "<email|q|sender>", "detail": "<text>"}`'
S8_EMAIL = "`email` is not a valid address (email-validator, no deliverability check)"
S8_CONTROL = "`q` contains a control character (Unicode category Cc, ..., or a line/paragraph separator)"
S8_LENGTH = "`q` is longer than 1,000 characters"
S8_ORDER = "Fields are checked in that order."
S9_PORT = "`AFTERWARD_SMTP_PORT` (default `8025`, the embedded sink's `python -m shared.sink`)"
S9_FROM = "`AFTERWARD_MAIL_FROM` (default `afterward@localhost`)"
S9_TIMEOUT = "`AFTERWARD_SMTP_TIMEOUT` (seconds, default 30)"
S9_ATTEMPTS = "`AFTERWARD_SMTP_ATTEMPTS` (default 4)"
S9_BACKOFF = "`AFTERWARD_SMTP_BACKOFF` (first wait in seconds, default 0.2, doubling, capped at 2)"
S9_LOG = "`AFTERWARD_LOG_PATH` (default `afterward.log` in the temp directory)"
S10_FINAL = "a `mail_failed` event per failed attempt (...; `temporary` and `final`, booleans)"
S10_LOGGER = "for the final one, one `ERROR` record on Python's `afterward.mailer` logger"
S10_PERMANENT = "permanent ones (5xx) are not retried"
UNSEEN_RESTART = (
    "by `--url` the suite reaches an app the user started and configured: it cannot start it again "
    "without a setting (`the app runs elsewhere (--url): the suite cannot start it with another "
    "configuration`), so it sees none of clause 9's defaults"
)
UNSEEN_CAP = (
    "the cap shows only when the doubled wait passes 2 s before the attempts run out, a configuration "
    "the suite starts an app with (`--app`); by `--url` the user's start decides it (the default 0.2 s "
    "and 4 attempts wait 0.2, 0.4 and 0.8 s), and the suite cannot start the app again with another"
)
UNSEEN_RECORDS = (
    "the record on Python's `afterward.mailer` logger exists only in a Python process; by `--url` the "
    "suite reads the app's log file and events, not its logging (`the app's logging is its own (--url): "
    "its records cannot be read`), and the spec gives the record no form outside Python"
)
S11_T = "`t` = `time.monotonic()`"
S11_SEQ = "`seq` = the process's order, increasing"
S11_LOG = "`log_written` (request id = the log line)"
S11_STARTED = "`mail_started` (each attempt)"
S11_ON_LOOP = (
    "`on_loop` is true when the thread recording the event is running an asyncio event loop: the "
    "`async def` sender's events, never the `def` sender's."
)

F = "notifier.py"
SYNC_SEND = "smtp.send_message(message(email, config), from_addr=config.mail_from, to_addrs=[email])"

FALCON = [
    Mutant(
        "falcon",
        "c1-body-reworded",
        1,
        S1_BODY,
        ((F, '"Notification sent in the background"', '"Notification sent in background"'),),
    ),
    Mutant(
        "falcon",
        "c1-status-202",
        1,
        S1_BODY,
        (
            (
                F,
                "        resp.media = SENT",
                "        resp.media = SENT\n        resp.status = falcon.HTTP_202",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c1-content-type-with-charset",
        1,
        S1_TYPE,
        (
            (
                F,
                "        resp.media = SENT",
                '        resp.media = SENT\n        resp.content_type = "application/json; charset=utf-8"',
            ),
        ),
    ),
    Mutant("falcon", "c2-empty-q-logged", 2, S2_WHEN, ((F, "    if q:\n", "    if q is not None:\n"),)),
    Mutant(
        "falcon",
        "c2-q-stripped-in-the-log",
        2,
        S2_WHEN,
        ((F, 'f"found query: {q}"', 'f"found query: {q.strip()}"'),),
    ),
    Mutant(
        "falcon",
        "c3-to-header-lower-cased",
        3,
        S3_TO,
        ((F, 'msg["To"] = email', 'msg["To"] = email.lower()'),),
    ),
    Mutant(
        "falcon",
        "c3-envelope-recipient-lower-cased",
        3,
        S3_TO,
        ((F, SYNC_SEND, SYNC_SEND.replace("to_addrs=[email]", "to_addrs=[email.lower()]")),),
    ),
    Mutant(
        "falcon",
        "c3-from-header-with-a-display-name",
        3,
        S3_FROM,
        ((F, 'msg["From"] = config.mail_from', 'msg["From"] = f"Afterward <{config.mail_from}>"'),),
    ),
    Mutant(
        "falcon",
        "c3-subject-lower-case",
        3,
        S3_SUBJECT,
        ((F, 'SUBJECT = "Notification"', 'SUBJECT = "notification"'),),
    ),
    Mutant(
        "falcon",
        "c3-body-capitalized",
        3,
        S3_BODY,
        ((F, 'NOTIFICATION = "some notification"', 'NOTIFICATION = "Some notification"'),),
    ),
    Mutant(
        "falcon",
        "c3-failed-quit-sends-again",
        3,
        S3_ONE,
        ((F, SYNC_SEND, SYNC_SEND + "\n            smtp.quit()"),),
    ),
    Mutant(
        "falcon",
        "c4-default-sender-async",
        4,
        S4,
        (
            (
                F,
                'if req.get_param("sender", default="sync") == "sync":',
                'if req.get_param("sender", default="async") == "sync":',
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c5-async-sender-before-the-answer",
        5,
        S5,
        (
            (
                F,
                "resp.schedule(partial(after_log_async, req.context.logged, email))",
                "await send_async(email)",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c6-def-sender-on-the-loop",
        6,
        S6,
        (
            (
                F,
                "resp.schedule_sync(partial(after_log_sync, req.context.logged, email))",
                "resp.schedule(partial(after_log_on_loop, req.context.logged, email))",
            ),
            (
                F,
                "\nclass Notification:",
                "\nasync def after_log_on_loop(logged, email):\n"
                "    await asyncio.wrap_future(logged)\n    send_sync(email)\n\n\nclass Notification:",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c7-health-503",
        7,
        S7,
        ((F, 'resp.media = {"status": "ok"}', "resp.status = falcon.HTTP_503"),),
    ),
    Mutant(
        "falcon", "c8-error-name", 8, S8_BODY, ((F, '"error": "invalid_input"', '"error": "invalid-input"'),)
    ),
    Mutant(
        "falcon",
        "c8-internationalized-address-refused",
        8,
        S8_EMAIL,
        (
            (
                F,
                "validate_email(email, check_deliverability=False)",
                "validate_email(email, check_deliverability=False, allow_smtputf8=False)",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c8-paragraph-separator-let-in",
        8,
        S8_CONTROL,
        ((F, r'c in "\u2028\u2029"', r'c in "\u2028"'),),
    ),
    Mutant(
        "falcon", "c8-q-of-1000-refused", 8, S8_LENGTH, ((F, "len(q) > MAX_QUERY", "len(q) >= MAX_QUERY"),)
    ),
    Mutant(
        "falcon",
        "c8-sender-checked-before-q",
        8,
        S8_ORDER,
        (
            (
                F,
                "    if q is not None and has_control(q):",
                "    if sender not in SENDERS:\n"
                "        raise InvalidInput(\"sender\", \"sender must be 'sync' or 'async'\")\n"
                "    if q is not None and has_control(q):",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c9-default-port-8026",
        9,
        S9_PORT,
        ((F, 'env("AFTERWARD_SMTP_PORT", "8025")', 'env("AFTERWARD_SMTP_PORT", "8026")'),),
    ),
    Mutant(
        "falcon",
        "c9-default-mail-from",
        9,
        S9_FROM,
        (
            (
                F,
                'env("AFTERWARD_MAIL_FROM", "afterward@localhost")',
                'env("AFTERWARD_MAIL_FROM", "notifier@localhost")',
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c9-default-timeout-5",
        9,
        S9_TIMEOUT,
        ((F, 'env("AFTERWARD_SMTP_TIMEOUT", "30")', 'env("AFTERWARD_SMTP_TIMEOUT", "5")'),),
    ),
    Mutant(
        "falcon",
        "c9-default-attempts-3",
        9,
        S9_ATTEMPTS,
        ((F, 'env("AFTERWARD_SMTP_ATTEMPTS", "4")', 'env("AFTERWARD_SMTP_ATTEMPTS", "3")'),),
    ),
    Mutant(
        "falcon",
        "c9-backoff-capped-at-4",
        9,
        S9_BACKOFF,
        (
            (
                F,
                "min(config.backoff * 2 ** (attempt - 1), 2.0)",
                "min(config.backoff * 2 ** (attempt - 1), 4.0)",
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c9-default-log-file-name",
        9,
        S9_LOG,
        (
            (
                F,
                'os.path.join(tempfile.gettempdir(), "afterward.log")',
                'os.path.join(tempfile.gettempdir(), "notifier.log")',
            ),
        ),
    ),
    Mutant(
        "falcon",
        "c10-final-only-when-permanent",
        10,
        S10_FINAL,
        ((F, "temporary=temporary, final=final)", "temporary=temporary, final=not temporary)"),),
    ),
    Mutant(
        "falcon",
        "c10-final-failure-logged-as-warning",
        10,
        S10_LOGGER,
        ((F, "logger.error(", "logger.warning("),),
    ),
    Mutant(
        "falcon",
        "c10-5xx-retried",
        10,
        S10_PERMANENT,
        ((F, "return 400 <= code < 500", "return 400 <= code < 600"),),
    ),
    Mutant(
        "falcon", "c11-t-from-the-wall-clock", 11, S11_T, ((F, '"t": time.monotonic()', '"t": time.time()'),)
    ),
    Mutant(
        "falcon",
        "c11-log-written-id-without-prefix",
        11,
        S11_LOG,
        ((F, 'record("log_written", line)', 'record("log_written", line.removeprefix("found query: "))'),),
    ),
    Mutant(
        "falcon",
        "c11-mail-started-first-attempt-only",
        11,
        S11_STARTED,
        (
            (
                F,
                'record("mail_started", email, attempt=attempt)\n        smtp = None',
                'if attempt == 1:\n            record("mail_started", email, attempt=attempt)\n'
                "        smtp = None",
            ),
        ),
    ),
    Mutant(
        "falcon", "c11-on-loop-always-false", 11, S11_ON_LOOP, ((F, "on_loop = True", "on_loop = False"),)
    ),
]

SERVER, CHECKS, MAILER, EVENTS, WORKER = "server.js", "checks.js", "mailer.js", "events.js", "sync-sender.js"
ASYNC_TASK = "request.tasks.push(() => sendNotification(email));"
SYNC_TASK = "request.tasks.push(async () => syncSender.postMessage({ email }));"
WORKER_SEND = "parentPort.on('message', ({ email }) => {\n  sendNotification(email)"

FASTIFY = [
    Mutant(
        "fastify",
        "c1-body-reworded",
        1,
        S1_BODY,
        ((SERVER, "'Notification sent in the background'", "'Notification sent in background'"),),
    ),
    Mutant(
        "fastify",
        "c1-status-202",
        1,
        S1_BODY,
        ((SERVER, "json(reply, 200, SENT)", "json(reply, 202, SENT)"),),
    ),
    Mutant(
        "fastify",
        "c1-content-type-with-charset",
        1,
        S1_TYPE,
        ((SERVER, ".send(Buffer.from(JSON.stringify(body)))", ".send(body)"),),
    ),
    Mutant(
        "fastify",
        "c2-empty-q-logged",
        2,
        S2_WHEN,
        ((SERVER, "if (q) request.tasks.push", "if (q !== undefined) request.tasks.push"),),
    ),
    Mutant(
        "fastify",
        "c2-q-trimmed-in-the-log",
        2,
        S2_WHEN,
        ((SERVER, "`found query: ${q}`", "`found query: ${q.trim()}`"),),
    ),
    Mutant(
        "fastify",
        "c2-log-after-the-email",
        2,
        S2_ORDER,
        ((SERVER, ASYNC_TASK, ASYNC_TASK.replace("push", "unshift")),),
    ),
    Mutant(
        "fastify",
        "c3-to-header-lower-cased",
        3,
        S3_TO,
        ((MAILER, "`To: ${email}`", "`To: ${email.toLowerCase()}`"),),
    ),
    Mutant(
        "fastify",
        "c3-envelope-recipient-lower-cased",
        3,
        S3_TO,
        ((MAILER, "to: [email] }", "to: [email.toLowerCase()] }"),),
    ),
    Mutant(
        "fastify",
        "c3-from-header-with-a-display-name",
        3,
        S3_FROM,
        ((MAILER, "`From: ${config.mailFrom}`", "`From: Afterward <${config.mailFrom}>`"),),
    ),
    Mutant(
        "fastify",
        "c3-subject-lower-case",
        3,
        S3_SUBJECT,
        ((MAILER, "const SUBJECT = 'Notification';", "const SUBJECT = 'notification';"),),
    ),
    Mutant(
        "fastify",
        "c3-body-capitalized",
        3,
        S3_BODY,
        ((MAILER, "const NOTIFICATION = 'some notification';", "const NOTIFICATION = 'Some notification';"),),
    ),
    Mutant(
        "fastify",
        "c3-failed-quit-sends-again",
        3,
        S3_ONE,
        (
            (
                MAILER,
                "accepted = true; // a failed goodbye after this is no failed e-mail\n"
                "        resolve();\n        conn.quit();",
                "conn.quit();\n        conn.once('end', resolve);",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c4-default-sender-async",
        4,
        S4,
        (
            (
                SERVER,
                "if ((param(request.query, 'sender') ?? 'sync') === 'async') {",
                "if ((param(request.query, 'sender') ?? 'async') === 'async') {",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c5-async-sender-before-the-answer",
        5,
        S5,
        ((SERVER, ASYNC_TASK, "await sendNotification(email);"),),
    ),
    Mutant(
        "fastify",
        "c6-main-thread-waits-for-the-sync-sender",
        6,
        S6,
        (
            (
                SERVER,
                SYNC_TASK,
                "request.tasks.push(async () => {\n"
                "      const done = new Int32Array(new SharedArrayBuffer(4));\n"
                "      syncSender.postMessage({ email, done });\n      Atomics.wait(done, 0, 0);\n    });",
            ),
            (
                WORKER,
                WORKER_SEND,
                "parentPort.on('message', ({ email, done }) => {\n  sendNotification(email)"
                ".finally(() => { Atomics.store(done, 0, 1); Atomics.notify(done, 0); })",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c7-health-503",
        7,
        S7,
        ((SERVER, "json(reply, 200, { status: 'ok' })", "json(reply, 503, { status: 'ok' })"),),
    ),
    Mutant(
        "fastify",
        "c8-error-name",
        8,
        S8_BODY,
        ((SERVER, "error: 'invalid_input'", "error: 'invalid-input'"),),
    ),
    Mutant(
        "fastify",
        "c8-internationalized-address-refused",
        8,
        S8_EMAIL,
        ((CHECKS, "const DOT_ATOM_INTL = new RegExp(", "const DOT_ATOM_INTL = DOT_ATOM || new RegExp("),),
    ),
    Mutant(
        "fastify",
        "c8-upper-case-domain-refused",
        8,
        S8_EMAIL,
        ((CHECKS, r"const HOSTNAME_CHAR = /^[a-zA-Z0-9", r"const HOSTNAME_CHAR = /^[a-z0-9"),),
    ),
    Mutant(
        "fastify",
        "c8-paragraph-separator-let-in",
        8,
        S8_CONTROL,
        ((CHECKS, r"const CONTROL = /[\p{Cc}\u2028\u2029]/u;", r"const CONTROL = /[\p{Cc}\u2028]/u;"),),
    ),
    Mutant(
        "fastify",
        "c8-q-length-in-utf16-units",
        8,
        S8_LENGTH,
        ((CHECKS, "chars(q).length > MAX_QUERY", "q.length > MAX_QUERY"),),
    ),
    Mutant(
        "fastify",
        "c8-sender-checked-before-q",
        8,
        S8_ORDER,
        (
            (
                CHECKS,
                "  if (q !== undefined && CONTROL.test(q))",
                "  if (!SENDERS.includes(sender)) throw new InvalidInput('sender', 'bad sender');\n"
                "  if (q !== undefined && CONTROL.test(q))",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c9-default-port-8026",
        9,
        S9_PORT,
        ((MAILER, "env.AFTERWARD_SMTP_PORT ?? 8025", "env.AFTERWARD_SMTP_PORT ?? 8026"),),
        unseen=UNSEEN_RESTART,
    ),
    Mutant(
        "fastify",
        "c9-default-mail-from",
        9,
        S9_FROM,
        (
            (
                MAILER,
                "env.AFTERWARD_MAIL_FROM ?? 'afterward@localhost'",
                "env.AFTERWARD_MAIL_FROM ?? 'notifier@localhost'",
            ),
        ),
        unseen=UNSEEN_RESTART,
    ),
    Mutant(
        "fastify",
        "c9-default-timeout-5",
        9,
        S9_TIMEOUT,
        ((MAILER, "env.AFTERWARD_SMTP_TIMEOUT ?? 30", "env.AFTERWARD_SMTP_TIMEOUT ?? 5"),),
        unseen=UNSEEN_RESTART,
    ),
    Mutant(
        "fastify",
        "c9-default-attempts-3",
        9,
        S9_ATTEMPTS,
        ((MAILER, "env.AFTERWARD_SMTP_ATTEMPTS ?? 4", "env.AFTERWARD_SMTP_ATTEMPTS ?? 3"),),
    ),
    Mutant(
        "fastify",
        "c9-backoff-capped-at-4",
        9,
        S9_BACKOFF,
        (
            (
                MAILER,
                "Math.min(config.backoff * 2 ** (attempt - 1), 2)",
                "Math.min(config.backoff * 2 ** (attempt - 1), 4)",
            ),
        ),
        unseen=UNSEEN_CAP,
    ),
    Mutant(
        "fastify",
        "c9-default-log-file-name",
        9,
        S9_LOG,
        ((SERVER, "path.join(os.tmpdir(), 'afterward.log')", "path.join(os.tmpdir(), 'notifier.log')"),),
        unseen=UNSEEN_RESTART,
    ),
    Mutant(
        "fastify",
        "c10-final-only-when-permanent",
        10,
        S10_FINAL,
        (
            (
                MAILER,
                "{ attempt, error, temporary, final }",
                "{ attempt, error, temporary, final: !temporary }",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c10-final-failure-not-logged",
        10,
        S10_LOGGER,
        ((MAILER, "process.stderr.write(`ERROR:afterward.mailer:${text}\\n`);", "void text;"),),
        unseen=UNSEEN_RECORDS,
    ),
    Mutant(
        "fastify",
        "c10-5xx-retried",
        10,
        S10_PERMANENT,
        (
            (
                MAILER,
                "err.responseCode >= 400 && err.responseCode < 500",
                "err.responseCode >= 400 && err.responseCode < 600",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c11-t-from-the-wall-clock",
        11,
        S11_T,
        ((EVENTS, "t: monotonic()", "t: Date.now() / 1000"),),
    ),
    Mutant(
        "fastify",
        "c11-seq-counted-per-thread",
        11,
        S11_SEQ,
        (
            (EVENTS, "seq: Atomics.add(shared, 1, 1) + 1,", "seq: ++localSeq,"),
            (EVENTS, "let shared = null;", "let localSeq = 0;\nlet shared = null;"),
        ),
    ),
    Mutant(
        "fastify",
        "c11-log-written-id-without-prefix",
        11,
        S11_LOG,
        (
            (
                SERVER,
                "events.record('log_written', line);",
                "events.record('log_written', line.slice('found query: '.length));",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c11-mail-started-first-attempt-only",
        11,
        S11_STARTED,
        (
            (
                MAILER,
                "record('mail_started', email, { attempt });",
                "if (attempt === 1) record('mail_started', email, { attempt });",
            ),
        ),
    ),
    Mutant(
        "fastify",
        "c11-on-loop-always-true",
        11,
        S11_ON_LOOP,
        ((EVENTS, "on_loop: isMainThread,", "on_loop: true,"),),
    ),
]

MUTANTS: list[Mutant] = [*FALCON, *FASTIFY]
