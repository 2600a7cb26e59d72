/**
 * The readable text of a raw RFC 822 e-mail: its subject and the start of its first text part, with headers,
 * MIME boundaries, transfer encodings (quoted-printable, base64) and HTML markup taken off. A classifier should read
 * what a person reads, not the routing headers (which would give spam away by server names alone).
 */
export function emailText(raw: string): { subject: string; body: string } {
  const { headers, body } = splitMessage(raw.replace(/\r\n/g, '\n'));
  return { subject: decodeWords(headers.get('subject') ?? ''), body: collapse(partText(headers, body, 0)) };
}

interface Message {
  headers: Map<string, string>;
  body: string;
}

function splitMessage(raw: string): Message {
  const end = raw.indexOf('\n\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return { headers, body: end < 0 ? '' : raw.slice(end + 2) };
}

/** The first text/plain part (else the first text/html part) of a message, decoded. */
function partText(headers: Map<string, string>, body: string, depth: number): string {
  const type = (headers.get('content-type') ?? 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (type.startsWith('multipart/') && boundary && depth < 4) {
    const parts = body.split(`--${boundary}`).slice(1).map((p) => splitMessage(p.replace(/^\n/, '')));
    const plain = parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith('text/plain'));
    const chosen = plain ?? parts.find((p) => /^(text\/html|multipart\/)/i.test(p.headers.get('content-type') ?? ''));
    return chosen ? partText(chosen.headers, chosen.body, depth + 1) : '';
  }
  if (!type.startsWith('text/')) return '';
  const decoded = decodeTransfer(body, (headers.get('content-transfer-encoding') ?? '').toLowerCase());
  return type.startsWith('text/html') ? htmlToText(decoded) : decoded;
}

function decodeTransfer(body: string, encoding: string): string {
  if (encoding.includes('quoted-printable'))
    return body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  if (encoding.includes('base64')) {
    try {
      return new TextDecoder().decode(Uint8Array.from(atob(body.replace(/[^A-Za-z0-9+/=]/g, '')), (c) => c.charCodeAt(0)));
    } catch {
      return '';
    }
  }
  return body;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#?\w+);/g, (m, e: string) => (e[0] === '#' ? String.fromCharCode(Number(e.slice(1).replace(/^x/i, '0x')) || 32) : (ENTITIES[e.toLowerCase()] ?? m)));
}

/** RFC 2047 encoded words in a subject (=?charset?B|Q?...?=), decoded in their character set (UTF-8 if unknown). */
function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset: string, kind: string, text: string) => {
    try {
      const binary = kind.toUpperCase() === 'B' ? atob(text) : text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, h: string) => String.fromCharCode(parseInt(h, 16)));
      return decoderFor(charset).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    } catch {
      return text;
    }
  });
}

function decoderFor(charset: string): TextDecoder {
  try {
    return new TextDecoder(charset);
  } catch {
    return new TextDecoder();
  }
}

/** One line of words: quoted replies (lines starting with ">") dropped, whitespace collapsed. */
function collapse(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('>'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}
