// A real OpenID Connect provider for the sign-in tests (npm `oidc-provider`), on loopback only.
// Usage: node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_REDIRECT_URI
// Any login name signs in (the library's development login page); each known name carries the
// `groups` claim below, the way Microsoft Entra ID sends group object ids. Prints "ready" when listening.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, postLogoutUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const groups = {
  alice: ['rd-oic'],
  maria: ['rd-managers', 'rd-oic'],
  bob: ['canteen-committee'],
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name', 'groups'], email: ['email'] },
  conformIdTokenClaims: false, // put the profile claims (groups) in the ID token, as Entra ID does
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['release-desk-test-only'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, email: `${id}@police.example`, groups: groups[id] || [] };
      },
    };
  },
});

provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
