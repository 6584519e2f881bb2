// Where a client keeps its tokens, and the one way it renews them. A browser app
// would keep the refresh token somewhere sturdier than memory; the contract is the same.
import type { AuthFieldsFragment } from "./gql/graphql";

export class SessionTokens {
  accessToken: string | null = null;
  refreshToken: string | null = null;
  /** When the access token expires (ms since the epoch), as `expiresIn` said. */
  accessExpiresAt = 0;
  renewals = 0;

  store(payload: Pick<AuthFieldsFragment, "accessToken" | "refreshToken" | "expiresIn">): void {
    this.accessToken = payload.accessToken;
    this.refreshToken = payload.refreshToken;
    this.accessExpiresAt = Date.now() + payload.expiresIn * 1000;
  }

  /** Whether the access token is gone or expires within `milliseconds`. */
  expiresWithin(milliseconds: number): boolean {
    return this.accessToken === null || Date.now() + milliseconds >= this.accessExpiresAt;
  }

  clear(): void {
    this.accessToken = null;
    this.refreshToken = null;
    this.accessExpiresAt = 0;
  }
}

/** Runs `renew` once for any number of callers that find the access token expired together. */
export function singleFlight(renew: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  return () => {
    inFlight ??= renew().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

interface CodedError {
  extensions?: Record<string, unknown> | undefined;
}

/** taskql says `reason: "expired"` exactly when renewing the access token can help. */
export function isExpiredAccessToken(errors: readonly CodedError[]): boolean {
  return errors.some(
    (error) =>
      error.extensions?.code === "UNAUTHENTICATED" && error.extensions.reason === "expired",
  );
}

/** Hex SHA-256 through Web Crypto, available in browsers and Node.js alike. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
