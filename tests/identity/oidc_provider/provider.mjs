// A real OpenID Connect provider (panva's certified oidc-provider) on loopback, for the
// identity tests. Configured from the environment by tests/identity/oidc.py:
//   OIDC_CLIENTS   JSON list of client metadata (client_id, secret or jwks, redirect_uris ...)
//   OIDC_ACCOUNTS  JSON object: account id -> {claims: {...}, acr, amr}
//   OIDC_CLOCK_OFFSET  seconds added to the provider's clock (a provider with a wrong clock
//                      issues ID tokens that are already expired)
//   OIDC_TAMPER_CLIENTS  client ids whose ID tokens get a changed payload after signing
// It prints {"issuer": ...} on its first line once it listens on 127.0.0.1.
import http from 'node:http';

const offset = Number(process.env.OIDC_CLOCK_OFFSET || 0) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}

const { default: Provider, errors } = await import('oidc-provider');

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const tampered = new Set(JSON.parse(process.env.OIDC_TAMPER_CLIENTS || '[]'));

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  scopes: ['openid', 'name', 'address', 'birthdate', 'gender', 'email', 'profile'],
  claims: {
    // As most providers do: how the person authenticated is always in the ID token.
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    acr: null,
    amr: null,
    auth_time: null,
    name: ['name'],
    profile: ['name', 'family_name', 'given_name', 'birthdate', 'gender'],
    address: ['address'],
    birthdate: ['birthdate'],
    gender: ['gender'],
    email: ['email', 'email_verified'],
  },
  acrValues: ['aal1', 'aal2', 'aal3'],
  cookies: { keys: ['tests-only-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  // Cookies last longer than any clock offset a test gives the provider.
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 14400, Session: 14400, Grant: 14400 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  renderError(ctx, out) {
    ctx.type = 'application/json';
    ctx.body = out;
  },
});

// The interaction a person completes at the provider: one form, submitted by the test with
// the account to log in as. Login and consent for every requested scope and claim at once.
async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/submit)?$/);
  if (!match) {
    await next();
    if (ctx.path === '/token' && ctx.body?.id_token && tampered.has(ctx.oidc?.client?.clientId)) {
      // A token changed after it was signed: the signature no longer matches its payload.
      const [header, payload, signature] = ctx.body.id_token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      claims.sub = `${claims.sub}-forged`;
      const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${header}.${forged}.${signature}` };
    }
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (!match[2]) {
    ctx.type = 'text/html';
    ctx.body = `<form method="post" action="/interaction/${details.uid}/submit">`
      + `<input name="login"><button>${details.prompt.name}</button></form>`;
    return;
  }
  const form = await readForm(ctx.req);
  if (form.cancel) {
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied', error_description: 'the person cancelled',
    }));
    return;
  }
  const accountId = details.session?.accountId || form.login;
  const account = accounts[accountId];
  if (!account) throw new errors.InvalidRequest('unknown test account');
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  if (details.params.claims) {
    const requested = JSON.parse(details.params.claims);
    grant.addOIDCClaims([
      ...Object.keys(requested.id_token || {}),
      ...Object.keys(requested.userinfo || {}),
    ]);
  }
  const grantId = await grant.save();
  const result = { consent: { grantId } };
  if (details.prompt.name === 'login') {
    result.login = { accountId, acr: account.acr, amr: account.amr };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  }));
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
