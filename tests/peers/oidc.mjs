// panva's oidc-provider, a certified OAuth 2.0 / OpenID Connect server, on 127.0.0.1 only, with one
// confidential client taken from the environment. Runs from the install directory (servers.py
// copies it there) so that Node finds the package. Prints READY on listen; SIGTERM stops it.
//
// There is nobody to type a password: GET /interaction/:uid completes login and consent by itself,
// so an authorization is a plain redirect chain a test can follow with any HTTP client.
// login_hint=deny makes the user refuse (the client gets error=access_denied); any other
// login_hint logs in as that account id instead of "test-user".
import { randomBytes } from 'node:crypto'
import Provider from 'oidc-provider'

const env = process.env
const port = Number(env.OIDC_PORT || 3000)

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: env.OIDC_CLIENT_ID || 'postwright-test',
    client_secret: env.OIDC_CLIENT_SECRET || 'postwright-secret',
    redirect_uris: (env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:8000/connections/callback/oauth2-test/')
      .split(',').map((uri) => uri.trim()).filter(Boolean),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  // Scopes not listed here are dropped from requests without an error, as many real servers do.
  scopes: ['openid', 'offline_access', 'profile', 'email', 'post:write', 'post:read'],
  claims: { openid: ['sub'], profile: ['name', 'picture'], email: ['email'] },
  findAccount: async (ctx, accountId) => ({
    accountId,
    claims: async () => ({
      sub: accountId, name: 'Test User', email: `${accountId}@example.test`, picture: 'https://example.test/avatar.png',
    }),
  }),
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true }, // its GET page is shadowed by the middleware below
    revocation: { enabled: true },
  },
  // Each refresh consumes the old token; presenting it again is treated as theft and revokes the grant.
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  // Cookies only carry the browser session between redirects of one test; nothing survives a restart.
  cookies: { keys: [env.OIDC_COOKIE_KEY || randomBytes(24).toString('hex')] },
})

// provider.use() runs before the provider's own routes, so this answers the interaction page.
provider.use(async (ctx, next) => {
  const uid = ctx.method === 'GET' && ctx.path.match(/^\/interaction\/([^/]+)$/)?.[1]
  if (!uid) return next()
  const details = await provider.interactionDetails(ctx.req, ctx.res)
  const hint = details.params.login_hint
  let result
  if (hint === 'deny') {
    result = { error: 'access_denied', error_description: 'The user refused access.' }
  } else if (details.prompt.name === 'login') {
    result = { login: { accountId: hint || 'test-user' } }
  } else {
    // Consent: grant exactly what the provider reports as still missing (scopes and claims).
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id })
    const missing = details.prompt.details
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '))
    }
    result = { consent: { grantId: await grant.save() } }
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true })
})

const server = provider.listen(port, '127.0.0.1', () => console.log('READY'))
server.on('error', (error) => { // e.g. EADDRINUSE: servers.py retries on another port
  console.error(error)
  process.exit(1)
})

function stop() {
  server.closeAllConnections() // keep-alive sockets would otherwise hold close() open
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 3000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// servers.py keeps our stdin open: when it closes, the test process is gone (even killed with -9).
if (env.PEER_EXIT_ON_STDIN_EOF) process.stdin.on('end', stop).resume()
