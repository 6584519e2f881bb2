// The WebSocket side of both clients: a graphql-ws client speaking taskql's
// `graphql-transport-ws` on the same /graphql path. Its `connection_init` carries
// the access token; taskql closes a socket with 4403 when that token expires or its
// session ends, and graphql-ws then reconnects, so `connectionParams` renews a token
// that is about to expire before handing it over.
import { type Client, createClient } from "graphql-ws";

import type { SessionTokens } from "./session";

export interface LiveOptions {
  /** ws:// or wss:// URL of /graphql. */
  url: string;
  tokens: SessionTokens;
  /** Renews the access token through `refreshToken` (the client's own single flight). */
  renew: () => Promise<void>;
  /** A WebSocket implementation where there is no global one (Node.js 20: the `ws` package). */
  webSocketImpl?: unknown;
}

export function createLiveClient({ url, tokens, renew, webSocketImpl }: LiveOptions): Client {
  return createClient({
    url,
    webSocketImpl,
    lazy: true,
    keepAlive: 20_000,
    async connectionParams() {
      if (tokens.expiresWithin(5_000)) await renew();
      return tokens.accessToken ? { Authorization: `Bearer ${tokens.accessToken}` } : {};
    },
  });
}

/** http(s)://host/graphql -> ws(s)://host/graphql */
export function webSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}
