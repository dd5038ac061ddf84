import { type Gateway, listPairing, userTarget } from "@switchboard/core";
import { html } from "hono/html";
import { actionForm, type Html, type PageContext, page, time } from "../layout.ts";

/** Strangers' pending codes (approve / deny) and paired users (revoke), through core's pairing functions. */
export async function pairingView(ctx: PageContext, gateway: Gateway, notice?: string): Promise<Html> {
  const now = Date.now();
  const { pending, approved } = await listPairing(gateway.store, undefined, now);
  const body = html`${notice ? html`<p class="info" role="status">${notice}</p>` : ""}
<section aria-labelledby="pending"><h2 id="pending">Pending codes</h2>
${
  pending.length === 0
    ? html`<p class="muted">No pending pairing requests. A stranger who writes to a bot with <code>dm_policy: pairing</code> gets a code that shows up here.</p>`
    : html`<div class="table-wrap"><table id="pairing-pending"><thead><tr><th scope="col">Code</th><th scope="col">User</th><th scope="col">Name</th><th scope="col">Asked</th><th scope="col">Expires in</th><th scope="col">Answer</th></tr></thead><tbody>
${pending.map(
  (r) =>
    html`<tr><th scope="row"><code>${r.code}</code></th><td>${userTarget(r)}</td><td>${r.userName ?? ""}</td><td>${time(r.createdAt)}</td><td>${Math.max(1, Math.ceil((r.expiresAt - now) / 60_000))} min</td><td>${actionForm(ctx, "/console/pairing/approve", `Approve ${r.code}`, { code: r.code })} ${actionForm(ctx, "/console/pairing/deny", `Deny ${r.code}`, { code: r.code }, { danger: true })}</td></tr>`,
)}
</tbody></table></div>`
}
</section>
<section aria-labelledby="approved"><h2 id="approved">Paired users</h2>
${
  approved.length === 0
    ? html`<p class="muted">No paired users.</p>`
    : html`<div class="table-wrap"><table id="pairing-approved"><thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Approved</th><th scope="col">By</th><th scope="col">Action</th></tr></thead><tbody>
${approved.map((a) => {
  const where = a.account === "default" ? a.platform : `${a.platform}@${a.account}`;
  return html`<tr><th scope="row">${userTarget(a)}</th><td>${a.userName ?? ""}</td><td>${time(a.approvedAt)}</td><td>${a.approvedBy}</td><td>${actionForm(ctx, "/console/pairing/revoke", `Revoke ${userTarget(a)}`, { platform: where, user: a.userId }, { danger: true, confirm: `Revoke ${userTarget(a)}? Their next message is refused or asked to pair.` })}</td></tr>`;
})}
</tbody></table></div>`
}
</section>
<p class="muted">The same actions as <code>switchboard pairing approve|deny|revoke</code> and the <code>/pair</code> chat command, in the audit log; an approval applies to the user's next message.</p>`;
  return page(ctx, "pairing", "Pairing", body);
}
