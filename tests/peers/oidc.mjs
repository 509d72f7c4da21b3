// panva's oidc-provider: a certified OAuth 2.0 / OpenID Connect server, on 127.0.0.1 only.
// Login and consent complete by themselves (GET /interaction/:uid), so the whole authorization
// is a redirect chain a test can follow; login_hint=deny ends it with access_denied instead.
import Provider from 'oidc-provider'

const port = Number(process.env.OIDC_PORT || 3000)
const issuer = `http://127.0.0.1:${port}`
const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'postwright-test',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'postwright-secret',
    redirect_uris: (process.env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:8000/connections/callback/oauth2-test/').split(','),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], profile: ['name', 'picture'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
  rotateRefreshToken: true,
  // Refresh tokens only for grants that asked for offline access, as real servers do.
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  cookies: { keys: [process.env.OIDC_COOKIE_KEY || 'postwright-test-cookie-key'] },
  findAccount: async (ctx, accountId) => ({
    accountId,
    claims: async () => ({
      sub: accountId, name: 'Test User', email: `${accountId}@example.test`, email_verified: true,
      picture: 'https://example.test/avatar.png',
    }),
  }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
})

provider.use(async (ctx, next) => {
  const match = ctx.method === 'GET' && ctx.path.match(/^\/interaction\/([^/]+)$/)
  if (!match) return next()
  const details = await provider.interactionDetails(ctx.req, ctx.res)
  let result
  if (details.params.login_hint === 'deny') {
    result = { error: 'access_denied', error_description: 'The user refused access.' }
  } else if (details.prompt.name === 'login') {
    result = { login: { accountId: details.params.login_hint || 'test-user' } }
  } else {
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
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
