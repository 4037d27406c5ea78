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

// Check one request's entries (GET /v1/requests/{id}/audit) with the log key (GET /v1/keys),
// and each disclosure against the commitment its entry makes.
// Returns { checkpoint: {ok, detail, size}, entries: [{index, kind, ok, detail}] }.
export async function verifyRequestEntries(audit, logKey) {
  if (!(window.isSecureContext && crypto.subtle)) {
    const why = "not checked: this browser offers no WebCrypto here (use https or localhost)";
    return { checkpoint: { ok: null, detail: why, size: audit.checkpoint.size },
      entries: audit.entries.map((e) => ({ index: e.index, kind: e.entry && e.entry.kind, ok: null, detail: why })) };
  }
  const result = { checkpoint: { ok: false, detail: "", size: audit.checkpoint.size }, entries: [] };
  const disclosed = new Map((audit.disclosures || []).map((d) => [d.commitment, d]));
  let root = null, size = 0;
  try {
    const parsed = await verifyNote(audit.checkpoint.note, logKey.name, fromBase64(logKey.public_key));
    root = parsed.root; size = parsed.size;
    result.checkpoint = { ok: true, detail: `signed by ${logKey.name}`, size };
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
    } catch (err) {
      row.detail = err.message;
    }
    result.entries.push(row);
  }
  return result;
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
