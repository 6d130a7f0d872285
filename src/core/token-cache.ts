// One access token shared by every caller of a source: cached until shortly before it expires,
// dropped after a 401 (invalidate), and fetched by one request however many callers ask at once.
// The sources' token providers (Entra ID, Okta, Google, Keycloak, OneLogin) differ only in how
// they ask for a token, and Keycloak in how early it renews (its tokens are short-lived).

/** A token and how long it is valid, as the token endpoint's `expires_in` says. */
export interface IssuedToken {
  token: string;
  /** Seconds; `fallbackS` when the answer had no usable `expires_in`. */
  expiresIn: unknown;
  fallbackS: number;
}

const RENEW_BEFORE_MS = 5 * 60_000;

export interface TokenCacheOptions {
  /**
   * How long before its expiry a token is renewed (default five minutes). Must be well below
   * the tokens' lifetime: a token issued for less than this is fetched again at every call.
   */
  renewBeforeMs?: number;
}

export class TokenCache {
  private cached?: { token: string; expiresAt: number };
  private inflight?: Promise<string>;
  private readonly renewBeforeMs: number;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    opts: TokenCacheOptions = {},
  ) {
    this.renewBeforeMs = opts.renewBeforeMs ?? RENEW_BEFORE_MS;
  }

  async get(): Promise<string> {
    if (this.cached && this.cached.expiresAt - this.renewBeforeMs > Date.now()) return this.cached.token;
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops the cached token (after a 401). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<string> {
    const { token, expiresIn, fallbackS } = await this.issue();
    const lifetimeS = Number(expiresIn ?? fallbackS);
    this.cached = { token, expiresAt: Date.now() + (Number.isFinite(lifetimeS) ? lifetimeS : fallbackS) * 1000 };
    return token;
  }
}
