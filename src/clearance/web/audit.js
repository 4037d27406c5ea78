// Checking the audit log in the browser, with nothing but the log's public key: the
// checkpoint's Ed25519 signature (C2SP signed note) and each entry's RFC 9162 inclusion
// proof against the checkpoint's root. The server's word is not taken for either.

const encoder = new TextEncoder();

export function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// RFC 9162 section 2.1.3.2: the root that ``proof`` gives for leaf ``index`` of ``size``.
export async function rootFromInclusionProof(leaf, index, size, proof) {
  if (!(index >= 0 && index < size)) throw new Error(`index ${index} is outside a tree of ${size}`);
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("the proof is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof is shorter than the tree is deep");
  return r;
}

// A C2SP signed note: its body (up to the blank line) and its signature lines.
export function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("a signed note needs a blank line before its signatures");
  const body = note.slice(0, split + 1);
  const lines = body.split("\n");
  const signatures = note.slice(split + 2).split("\n").filter(Boolean).map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error("a signature line is '\u2014 <key name> <base64 signature>'");
    return { name: m[1], raw: fromBase64(m[2]) };
  });
  return { body, origin: lines[0], size: Number(lines[1]), root: fromBase64(lines[2]), signatures };
}

// Verify the note's signature by ``name`` with the raw 32-byte Ed25519 ``publicKey``.
// Returns "verified", or throws with the reason.
export async function verifyNote(note, name, publicKey) {
  const parsed = parseNote(note);
  const keyId = (await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, 0x01), publicKey))).slice(0, 4);
  const mine = parsed.signatures.filter((s) => s.name === name && equal(s.raw.slice(0, 4), keyId));
  if (!mine.length) throw new Error(`the checkpoint carries no signature by ${name}`);
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    throw new Error("this browser cannot check Ed25519 signatures");
  }
  for (const s of mine) {
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, s.raw.slice(4), encoder.encode(parsed.body));
    if (!ok) throw new Error("the checkpoint's signature does not verify");
  }
  return parsed;
}

// RFC 8785 canonical JSON of a value parsed from JSON: JSON.stringify writes strings and
// numbers as RFC 8785 does; object keys sorted by UTF-16 code units (the default sort).
export function canonicalJson(v) {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Whether a disclosure {commitment, salt, value} opens its commitment: SHA-256 of the
// canonical JSON of {salt, value} (domain/ledger/disclosure.py).
export async function checkDisclosure(d) {
  const digest = await sha256(encoder.encode(canonicalJson({ salt: d.salt, value: d.value })));
  return hex(digest) === d.commitment;
}

// Every commitment {"commitment": hex} an entry makes.
export function commitmentsOf(value, found = []) {
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (!Array.isArray(value) && keys.length === 1 && typeof value.commitment === "string") found.push(value.commitment);
    else for (const k of keys) commitmentsOf(value[k], found);
  }
  return found;
}

// A verifier key "<name>+<hex key ID>+<base64(type || 32-byte key)>" of the given type
// (0x01 a log's, 0x04 a witness's cosignature key); its key ID is checked.
async function parseVkey(text, type) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) throw new Error(`${text}: not a verifier key`);
  const raw = fromBase64(m[3]);
  if (raw.length !== 33 || raw[0] !== type) throw new Error(`${m[1]}: not a key of type ${type}`);
  const id = (await sha256(concat(encoder.encode(m[1]), Uint8Array.of(0x0a, type), raw.slice(1)))).slice(0, 4);
  if (Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("") !== m[2]) throw new Error(`${m[1]}: its key ID does not match its key`);
  return { name: m[1], publicKey: raw.slice(1), keyId: id };
}

// A witness policy in C2SP tlog-policy syntax (what GET /v1/audit/policy serves):
// { logs: [{name, publicKey}], witnesses: {name: {keyName, publicKey, keyId}}, groups: {name: {threshold, members}}, quorum }
export async function parsePolicy(text) {
  const policy = { logs: [], witnesses: {}, groups: {}, quorum: null };
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const words = lines[n].replace(/#.*/, "").trim().split(/[ \t]+/).filter(Boolean);
    if (!words.length) continue;
    const where = `policy line ${n + 1}`;
    const [item, ...rest] = words;
    if (item === "log") policy.logs.push(await parseVkey(rest[0], 0x01));
    else if (item === "witness") {
      const key = await parseVkey(rest[1] || "", 0x04);
      policy.witnesses[rest[0]] = { keyName: key.name, publicKey: key.publicKey, keyId: key.keyId };
    } else if (item === "group") {
      const [name, k, ...members] = rest;
      for (const m of members) if (!(m in policy.witnesses || m in policy.groups)) throw new Error(`${where}: ${m} is not defined before`);
      const threshold = k === "all" ? members.length : k === "any" ? 1 : Number(k);
      if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= members.length)) throw new Error(`${where}: a group's threshold is 1 to ${members.length}`);
      policy.groups[name] = { threshold, members };
    } else if (item === "quorum") {
      if (policy.quorum !== null) throw new Error(`${where}: one quorum line only`);
      if (!(rest[0] === "none" || rest[0] in policy.witnesses || rest[0] in policy.groups)) throw new Error(`${where}: ${rest[0]} is not defined`);
      policy.quorum = rest[0];
    } else throw new Error(`${where}: unknown item ${item}`);
  }
  if (policy.quorum === null) throw new Error("the policy has no quorum line");
  return policy;
}

function satisfied(policy, cosigned, name) {
  if (name === "none") return true;
  if (name in policy.witnesses) return cosigned.has(name);
  const g = policy.groups[name];
  return g.members.filter((m) => satisfied(policy, cosigned, m)).length >= g.threshold;
}

export function describeQuorum(policy, name = policy.quorum) {
  if (name === "none" || name in policy.witnesses) return name;
  const g = policy.groups[name];
  return `${name} (${g.threshold} of ${g.members.map((m) => describeQuorum(policy, m)).join(", ")})`;
}

// The policy's witnesses whose tlog-cosignature/v1 on ``note`` verifies (c2sp.org/tlog-cosignature:
// key ID, 8-byte big-endian timestamp, Ed25519 signature of "cosignature/v1\ntime T\n" + body).
export async function cosignedBy(note, policy) {
  const parsed = parseNote(note);
  const cosigned = new Set();
  for (const [name, w] of Object.entries(policy.witnesses)) {
    for (const s of parsed.signatures) {
      if (s.name !== w.keyName || s.raw.length !== 76 || !equal(s.raw.slice(0, 4), w.keyId)) continue;
      const time = new DataView(s.raw.buffer, s.raw.byteOffset + 4, 8).getBigUint64(0);
      const message = encoder.encode(`cosignature/v1\ntime ${time}\n${parsed.body}`);
      const key = await crypto.subtle.importKey("raw", w.publicKey, { name: "Ed25519" }, false, ["verify"]);
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, s.raw.slice(12), message)) cosigned.add(name);
    }
  }
  return cosigned;
}

// Throws unless the checkpoint meets the policy's quorum; returns what it says of it.
export async function checkQuorum(note, policy) {
  const cosigned = await cosignedBy(note, policy);
  const names = [...cosigned].sort();
  const by = names.length ? `cosigned by ${names.join(", ")}` : "cosigned by no witness of the policy";
  if (!satisfied(policy, cosigned, policy.quorum)) throw new Error(`${by}: short of the quorum ${describeQuorum(policy)}`);
  return `${by}, meeting the quorum ${describeQuorum(policy)}`;
}

// Check one request's entries (GET /v1/requests/{id}/audit) with the log key (GET /v1/keys),
// each disclosure against the commitment its entry makes, and, given the witness policy's
// text (GET /v1/audit/policy), the witnesses' quorum.
// A decision recorded unsigned (its authority names no root key: the server holds no
// authority's key) is counted by authority in ``unsigned``, not failed: the log proves
// what was recorded and when, not that authority's consent (unsignedSummary says so).
// Returns { checkpoint: {ok, detail, size}, entries: [{index, kind, ok, detail}], unsigned: {authority: n} }.
export async function verifyRequestEntries(audit, logKey, policyText = null) {
  if (!(window.isSecureContext && crypto.subtle)) {
    const why = "not checked: this browser offers no WebCrypto here (use https or localhost)";
    return { checkpoint: { ok: null, detail: why, size: audit.checkpoint.size },
      entries: audit.entries.map((e) => ({ index: e.index, kind: e.entry && e.entry.kind, ok: null, detail: why })) };
  }
  const result = { checkpoint: { ok: false, detail: "", size: audit.checkpoint.size }, entries: [], unsigned: {} };
  const disclosed = new Map((audit.disclosures || []).map((d) => [d.commitment, d]));
  let root = null, size = 0;
  try {
    const parsed = await verifyNote(audit.checkpoint.note, logKey.name, fromBase64(logKey.public_key));
    let witnessed = "no witness policy is served: checked against the log's key alone";
    if (policyText !== null) witnessed = await checkQuorum(audit.checkpoint.note, await parsePolicy(policyText));
    root = parsed.root; size = parsed.size;
    result.checkpoint = { ok: true, detail: `signed by ${logKey.name}; ${witnessed}`, size };
  } catch (e) {
    result.checkpoint = { ok: false, detail: e.message, size: audit.checkpoint.size };
  }
  for (const e of audit.entries) {
    const row = { index: e.index, kind: e.entry && e.entry.kind, ok: false, detail: "" };
    try {
      if (!root) throw new Error("no verified checkpoint to check against");
      const leaf = await leafHash(fromBase64(e.data));
      if (!equal(leaf, fromBase64(e.leaf_hash))) throw new Error("the entry does not hash to its leaf");
      const proof = e.inclusion_proof.map(fromBase64);
      const computed = await rootFromInclusionProof(leaf, e.index, size, proof);
      if (!equal(computed, root)) throw new Error("the inclusion proof does not lead to the checkpoint's root");
      const made = commitmentsOf(e.entry);
      let opened = 0;
      for (const c of made) {
        const d = disclosed.get(c);
        if (!d) continue;
        if (!(await checkDisclosure(d))) throw new Error(`the disclosure of ${c.slice(0, 12)}… does not match its commitment`);
        opened += 1;
      }
      row.ok = true;
      row.detail = `included in the signed tree of ${size} entries`;
      if (made.length) row.detail += `; ${opened} of ${made.length} disclosures check`;
      const detail = (e.entry && e.entry.detail) || {};
      if (row.kind === "request.decided" && !detail.signature) {
        const authority = String(detail.authority);
        result.unsigned[authority] = (result.unsigned[authority] || 0) + 1;
        row.detail += `; unsigned: ${authority} names no root key`;
      }
    } catch (err) {
      row.detail = err.message;
    }
    result.entries.push(row);
  }
  return result;
}

// "3 decisions unsigned: NE.Defense names no root key (…)" for verifyRequestEntries'
// ``unsigned``, or "" when every decision is signed (the words of `clearance audit verify`).
export function unsignedSummary(unsigned) {
  const names = Object.keys(unsigned).sort();
  const total = names.reduce((n, a) => n + unsigned[a], 0);
  if (!total) return "";
  const what = total === 1 ? "decision" : "decisions";
  const who = names.length === 1 ? `${names[0]} names` : `${names.map((a) => `${a} (${unsigned[a]})`).join(", ")} name`;
  return `${total} ${what} unsigned: ${who} no root key (recorded, but the authority's consent is not proven)`;
}

// A link that downloads the request's audit bundle (GET /v1/requests/{id}/audit/bundle):
// one file that `clearance audit verify-bundle FILE --policy POLICY` checks with no server.
// `getJson(path)` is the page's authenticated GET.
export function bundleLink(requestId, getJson) {
  const link = document.createElement("a");
  link.id = "audit-bundle";
  link.href = "#";
  link.textContent = "Download the audit bundle (check it offline: clearance audit verify-bundle)";
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      const bundle = await getJson(`/v1/requests/${encodeURIComponent(requestId)}/audit/bundle`);
      const blob = new Blob([JSON.stringify(bundle, null, 2) + "\n"], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const save = document.createElement("a");
      save.href = url;
      save.download = `${requestId}.bundle.json`;
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      link.textContent = `The audit bundle could not be read: ${e.message}`;
    }
  });
  return link;
}
