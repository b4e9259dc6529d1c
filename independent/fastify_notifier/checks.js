'use strict';
// Clause 8: the request's checks, in the spec's order (email, q, sender). `email` must be an
// address that Python's email-validator accepts without a deliverability check; these are
// its syntax rules (the package's defaults: internationalized addresses allowed, quoted local
// parts, domain literals and display names refused, special-use domains refused), with the
// WHATWG URL standard's UTS #46 processing (url.domainToASCII) standing in for the `idna` package.
const { domainToASCII, domainToUnicode } = require('node:url');

const MAX_QUERY = 1000;
const SENDERS = ['sync', 'async'];
const ATEXT = "a-zA-Z0-9_!#\\$%&'\\*\\+\\-/=\\?\\^`\\{\\|\\}~";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`, 'u');
const DOT_ATOM_INTL = new RegExp(`^[${ATEXT}\\u{80}-\\u{10FFFF}]+(?:\\.[${ATEXT}\\u{80}-\\u{10FFFF}]+)*$`, 'u');
const HOSTNAME_CHAR = /^[a-zA-Z0-9\-.\u{80}-\u{10FFFF}]$/u;
const LABEL = '(?:(?:[a-zA-Z0-9][a-zA-Z0-9\\-]*)?[a-zA-Z0-9])';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const SPECIAL_USE = ['arpa', 'invalid', 'local', 'localhost', 'onion', 'test'];
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

class InvalidInput extends Error {
  constructor(field, detail) {
    super(detail);
    this.field = field;
    this.detail = detail;
  }
}

const chars = (text) => [...text];
const utf8Length = (text) => Buffer.byteLength(text, 'utf8');

// Letters, numbers, punctuation and symbols are safe; marks only after the first character;
// spaces only where allowed; separators, controls, format, private-use and unassigned never.
function checkUnsafe(text, allowSpace = false) {
  chars(text).forEach((c, i) => {
    if (/[\p{L}\p{N}\p{P}\p{S}]/u.test(c)) return;
    if (/\p{M}/u.test(c) && i > 0) return;
    if (/\p{Zs}/u.test(c) && allowSpace) return;
    throw new Error(`the address contains an unsafe character U+${c.codePointAt(0).toString(16).toUpperCase()}`);
  });
}

function checkLocal(local) {
  if (local.length === 0) throw new Error('there must be something before the @-sign');
  if (DOT_ATOM.test(local)) return;
  if (!DOT_ATOM_INTL.test(local)) {
    if (local.startsWith('"')) throw new Error('quoting the part before the @-sign is not allowed');
    throw new Error('the part before the @-sign is not a dot-atom');
  }
  checkUnsafe(local);
}

function uts46ValidChar(c) {
  const code = c.codePointAt(0);
  if (code >= 0x80 && code <= 0x9f) return false;
  if ((code >= 0x2010 && code <= 0x2060 && !(code >= 0x2024 && code <= 0x2026) && !(code >= 0x2028 && code <= 0x202e))
      || [0xad, 0x2064, 0xff0e].includes(code) || (code >= 0x200b && code <= 0x200d)
      || (code >= 0x1bca0 && code <= 0x1bca3)) return true;
  if (/[\p{Cf}\p{Cn}\p{Co}\p{Cs}\p{Zs}\p{Zl}\p{Zp}]/u.test(c)) return false;
  return !(c !== '.' && c.normalize('NFKD').includes('.'));
}

function checkDomain(domain) {
  if (domain.length === 0) throw new Error('there must be something after the @-sign');
  if (domain.startsWith('[') && domain.endsWith(']')) throw new Error('a bracketed address after the @-sign is not allowed');
  if (chars(domain).length > 253) throw new Error('the part after the @-sign is too long');
  if (!chars(domain).every((c) => HOSTNAME_CHAR.test(c))) throw new Error('the part after the @-sign contains invalid characters');
  checkUnsafe(domain);
  if (!chars(domain).every(uts46ValidChar)) throw new Error('the part after the @-sign contains invalid characters');
  const mapped = domain.normalize('NFKC').toLowerCase().replace(/[\u3002\uff0e\uff61]/g, '.');
  if (!chars(mapped).every((c) => HOSTNAME_CHAR.test(c))) throw new Error('the part after the @-sign is invalid after normalization');
  if (mapped.startsWith('.') || mapped.startsWith('-')) throw new Error('the part after the @-sign cannot start with a period or hyphen');
  if (mapped.endsWith('.') || mapped.endsWith('-')) throw new Error('the address cannot end with a period or hyphen');
  if (mapped.includes('..')) throw new Error('the address cannot have two periods in a row');
  if (mapped.includes('.-') || mapped.includes('-.')) throw new Error('a period and a hyphen cannot be next to each other');
  if (mapped.split('.').some((label) => /^(?!xn)..--/i.test(label))) throw new Error('a label cannot have two letters then two dashes, except Punycode');
  let ascii = mapped;
  if (!HOSTNAME.test(mapped)) {
    ascii = mapped.split('.').map((label) => domainToASCII(label)).join('.');
    if (!HOSTNAME.test(ascii)) throw new Error('the part after the @-sign is not a valid internationalized domain name');
  }
  if (ascii.length > 253) throw new Error('the part after the @-sign is too long');
  if (ascii.split('.').some((label) => label.length > 63)) throw new Error('a label after the @-sign is too long');
  if (!ascii.includes('.')) throw new Error('the part after the @-sign should have a period');
  if (!/[A-Za-z]$/.test(ascii)) throw new Error('the part after the @-sign is not within a valid top-level domain');
  if (SPECIAL_USE.some((name) => ascii === name || ascii.endsWith(`.${name}`))) {
    throw new Error('the part after the @-sign is a special-use or reserved name');
  }
  let unicode = ascii;
  if (ascii.includes('xn--')) {
    unicode = domainToUnicode(ascii);
    if (!unicode || domainToASCII(unicode) !== ascii.toLowerCase()) throw new Error('the part after the @-sign is not valid IDNA');
    checkUnsafe(unicode);
  }
  return { ascii, unicode };
}

function checkAddress(email) {
  const at = email.indexOf('@');
  if (at < 0) throw new Error('an email address must have an @-sign');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.includes('<')) throw new Error('a display name and angle brackets are not permitted');
  checkLocal(local);
  const normalizedLocal = local.normalize('NFC');
  if (normalizedLocal !== local) checkLocal(normalizedLocal);
  const { ascii, unicode } = checkDomain(domain);
  for (const form of [email, `${normalizedLocal}@${unicode}`, `${normalizedLocal}@${ascii}`]) {
    if (utf8Length(form) > 254) throw new Error('the email address is too long');
  }
}

function check(email, q, sender) {
  try {
    checkAddress(email);
  } catch (err) {
    throw new InvalidInput('email', err.message);
  }
  if (CONTROL.test(email)) throw new InvalidInput('email', 'the address contains a control character');
  if (q !== undefined && CONTROL.test(q)) throw new InvalidInput('q', 'q contains a control character');
  // Python counts characters (code points); a JavaScript string's length counts UTF-16 units.
  if (q !== undefined && chars(q).length > MAX_QUERY) throw new InvalidInput('q', `q is longer than ${MAX_QUERY} characters`);
  if (!SENDERS.includes(sender)) throw new InvalidInput('sender', "sender must be 'sync' or 'async'");
}

module.exports = { check, checkAddress, InvalidInput };
