// Decisions signed in the browser, where the member makes them (issue 13 item 2).
//
// The member's Ed25519 key is made here (WebCrypto, non-extractable) or imported from a
// file `clearance key new` wrote (unencrypted PKCS#8 PEM), and kept in this browser's
// IndexedDB as a CryptoKey the page can use but never read: the private key never leaves
// the browser. The decision statement is the one the server checks
// (domain/ledger/signatures.py): the RFC 8785 canonical JSON of
//   {request_id, version (the one the decision creates), document_digest (SHA-256 hex of
//    the canonical request document), authority, decision, comment, conditions, by, at}
// tests/vectors/decision-statement.json is shared by the Python and the browser tests.

const encoder = new TextEncoder();
const DB = "clearance-keys";
const STORE = "keys";

// RFC 8785 (JCS): keys sorted by UTF-16 code units (JavaScript's own sort), strings and
// numbers as ECMAScript's JSON.stringify writes them, no whitespace.
export function canonicalJson(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  throw new Error(`a ${typeof value} has no JSON form`);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function toBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

// SHA-256 (hex) of the request document's canonical JSON, as the server stores it.
export async function documentDigest(document) {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(canonicalJson(document)));
  return hex(new Uint8Array(digest));
}

// An RFC 3339 UTC instant in whole seconds ("2017-11-21T06:00:00Z"): what the server
// writes back for the time it parses, so both sides sign the same text.
export function signingInstant(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

// The statement of a decision about to be made; ``seen`` is the version shown.
export function decisionStatement({ requestId, seen, digest, authority, decision, comment, conditions, by, at }) {
  return {
    request_id: requestId,
    version: seen + 1,
    document_digest: digest,
    authority,
    decision,
    comment: comment || "",
    conditions: conditions
      ? { text: conditions.text, time_start: conditions.time_start || null, time_end: conditions.time_end || null,
        volume: conditions.volume || null }
      : null,
    by,
    at,
  };
}

export async function signStatement(privateKey, statement) {
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, privateKey, encoder.encode(canonicalJson(statement)));
  return toBase64(new Uint8Array(signature));
}

// -- keys kept in IndexedDB, one per principal name on this origin ---------------------

function openDb() {
  return new Promise((resolve, reject) => {
    const opened = indexedDB.open(DB, 1);
    opened.onupgradeneeded = () => opened.result.createObjectStore(STORE);
    opened.onsuccess = () => resolve(opened.result);
    opened.onerror = () => reject(new Error(`this browser keeps no keys here: ${opened.error}`));
  });
}

async function inStore(mode, act) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(`the key store failed: ${tx.error}`));
    });
  } finally {
    db.close();
  }
}

// {privateKey (CryptoKey, not extractable), publicKey (base64 of the raw 32 bytes), source}
// or null when this browser keeps no key for ``name``.
export async function loadKey(name) {
  return (await inStore("readonly", (s) => s.get(name))) || null;
}

async function keep(name, privateKey, publicRaw, source) {
  const kept = { privateKey, publicKey: toBase64(publicRaw), source };
  await inStore("readwrite", (s) => s.put(kept, name));
  return kept;
}

export async function generateKey(name) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return keep(name, pair.privateKey, publicRaw, "made in this browser");
}

// A private key file from `clearance key new` (PKCS#8 PEM). It is read once, extractably
// only to learn its public half, and kept as a non-extractable key.
export async function importKeyFile(name, pem, fileName = "the file") {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error(`${fileName}: not a private key file (PKCS#8 PEM, as \`clearance key new\` writes)`);
  const der = fromBase64(m[1].replace(/\s+/g, ""));
  let readable;
  try {
    readable = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  } catch (e) {
    throw new Error(`${fileName}: not an Ed25519 private key`);
  }
  const jwk = await crypto.subtle.exportKey("jwk", readable);
  const publicRaw = fromBase64(jwk.x.replace(/-/g, "+").replace(/_/g, "/").padEnd(44, "="));
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  return keep(name, privateKey, publicRaw, `imported from ${fileName}`);
}

export async function forgetKey(name) {
  await inStore("readwrite", (s) => s.delete(name));
}
