// urql set up for taskql: the auth exchange renews the access token through
// `refreshToken` when taskql says it expired, the persisted exchange sends
// hashed queries as GET, and the subscription exchange sends subscriptions over
// a WebSocket (graphql-ws).
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { authExchange } from "@urql/exchange-auth";
import { persistedExchange } from "@urql/exchange-persisted";

import { createLiveClient, webSocketUrl } from "./live";
import { RefreshTokenDocument } from "./operations";
import { isExpiredAccessToken, type SessionTokens, sha256Hex, singleFlight } from "./session";

export interface UrqlOptions {
  url: string;
  tokens: SessionTokens;
  fetch?: typeof fetch;
  /** For subscriptions where there is no global WebSocket (Node.js 20: the `ws` package). */
  webSocketImpl?: unknown;
}

export function createUrqlClient({ url, tokens, fetch, webSocketImpl }: UrqlOptions): Client {
  // One renewal for HTTP (the auth exchange, when taskql says the token expired) and
  // the socket (before it connects): refresh tokens rotate, so two renewals with the
  // same one would end the session. It runs on its own client, outside the exchange
  // that waits for it.
  const renewalClient = new Client({ url, fetch, exchanges: [fetchExchange] });
  const renew = singleFlight(async () => {
    const refreshToken = tokens.refreshToken;
    if (refreshToken === null) return;
    const result = await renewalClient.mutation(RefreshTokenDocument, { refreshToken }).toPromise();
    if (result.data) {
      tokens.store(result.data.refreshToken);
      tokens.renewals += 1;
    } else {
      tokens.clear();
    }
  });
  const live = createLiveClient({ url: webSocketUrl(url), tokens, renew, webSocketImpl });
  return new Client({
    url,
    fetch,
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          if (!tokens.accessToken) return operation;
          return utils.appendHeaders(operation, { Authorization: `Bearer ${tokens.accessToken}` });
        },
        didAuthError(error) {
          return isExpiredAccessToken(error.graphQLErrors);
        },
        refreshAuth: renew,
      })),
      persistedExchange({ preferGetForPersistedQueries: true, generateHash: sha256Hex }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const dispose = live.subscribe(input, sink);
              return { unsubscribe: dispose };
            },
          };
        },
      }),
    ],
  });
}
