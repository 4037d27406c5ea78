// A member's signing key on the page: made in this browser or imported from a key file,
// kept non-extractable in IndexedDB (signing.js), shown with its public key and whether
// the authority enrolled it; and the decision body signed with it.

import { $, api, ApiError } from "./util.js";
import { decisionStatement, documentDigest, forgetKey, generateKey, importKeyFile, loadKey, signingInstant, signStatement } from "./signing.js";

const mine = { me: null, rootKey: null, keys: [], kept: null };

function enrolledNow(publicKey) {
  return mine.keys.some((k) => k.member === mine.me.name && k.public_key === publicKey && !k.revoked_at);
}

function render() {
  const me = mine.me;
  $("member-key").hidden = !(me && me.authority);
  if (!me || !me.authority) return;
  const kept = mine.kept;
  let status;
  if (!mine.rootKey) status = `${me.authority} keeps no root key: its decisions are recorded unsigned (nothing proves its consent), no key of yours is needed.`;
  else if (!kept) status = `${me.authority} signs its decisions with its members' own keys: make a key in this browser or import yours.`;
  else if (enrolledNow(kept.publicKey)) status = `Your key (${kept.source}) is enrolled for ${me.name} of ${me.authority}: your decisions are signed with it here.`;
  else status = `Your key (${kept.source}) is not enrolled for ${me.name} of ${me.authority}: decisions signed with it are refused until the authority enrolls it.`;
  $("member-key-status").textContent = status;
  $("member-key-public-p").hidden = !kept;
  $("member-key-public").textContent = kept ? kept.publicKey : "";
  const unenrolled = !!(kept && mine.rootKey && !enrolledNow(kept.publicKey));
  $("member-key-enroll").hidden = !unenrolled;
  if (unenrolled) {
    $("member-key-command").textContent =
      `clearance member statement ${me.name} --authority ${me.authority} --public-key ${kept.publicKey} --root-key ROOT_KEY_FILE`;
    $("member-key-endpoint").textContent = `POST /v1/authorities/${me.authority}/members`;
  }
  $("member-key-forget").hidden = !kept;
}

// Learn the authority's root key and enrolled keys, and this browser's key for ``me``.
export async function refreshMemberKey(me) {
  mine.me = me;
  mine.kept = null;
  if (!me || !me.authority) return render();
  const listed = await api("GET", `/v1/authorities/${encodeURIComponent(me.authority)}/members`);
  mine.rootKey = listed.root_key;
  mine.keys = listed.keys;
  mine.kept = await loadKey(me.name);
  render();
}

// After a refusal: the enrolled keys again (the status then says why).
export async function recheckMemberKey() {
  if (mine.me && mine.me.authority) await refreshMemberKey(mine.me);
}

// ``body`` with ``at`` and ``signature`` when the member's authority signs with its
// members' keys; ``now`` is the service's present time (ms).
export async function signDecision(body, record, now) {
  if (!mine.rootKey) return body;
  if (!mine.kept) throw new ApiError(0, `${mine.me.authority} signs its decisions with its members' keys: make or import your key first (Your signing key)`);
  const at = signingInstant(now);
  const statement = decisionStatement({
    requestId: record.id, seen: record.version, digest: await documentDigest(record.document),
    authority: body.authority, decision: body.decision, comment: body.comment,
    conditions: body.conditions, by: mine.me.name, at,
  });
  return { ...body, at, signature: await signStatement(mine.kept.privateKey, statement) };
}

export function wireMemberKey(guarded) {
  $("member-key-generate").addEventListener("click", () => guarded(async () => {
    if (mine.kept && !window.confirm("Replace this browser's key with a new one? The old one is lost.")) return;
    mine.kept = await generateKey(mine.me.name);
    render();
  }));
  $("member-key-file").addEventListener("change", () => guarded(async () => {
    const file = $("member-key-file").files[0];
    if (!file) return;
    try {
      mine.kept = await importKeyFile(mine.me.name, await file.text(), file.name);
    } catch (e) {
      throw new ApiError(0, e.message);
    } finally {
      $("member-key-file").value = "";
    }
    render();
  }));
  $("member-key-forget").addEventListener("click", () => guarded(async () => {
    if (!window.confirm("Forget this browser's key? It cannot be recovered from here.")) return;
    await forgetKey(mine.me.name);
    mine.kept = null;
    render();
  }));
}
