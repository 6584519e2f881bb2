// urql set up for taskql: the auth exchange renews the access token through
// `refreshToken` when taskql says it expired, and the persisted exchange sends
// hashed queries as GET.
import { Client, cacheExchange, fetchExchange } from "@urql/core";
import { authExchange } from "@urql/exchange-auth";
import { persistedExchange } from "@urql/exchange-persisted";

import { RefreshTokenDocument } from "./operations";
import { isExpiredAccessToken, type SessionTokens, sha256Hex } from "./session";

export interface UrqlOptions {
  url: string;
  tokens: SessionTokens;
  fetch?: typeof fetch;
}

export function createUrqlClient({ url, tokens, fetch }: UrqlOptions): Client {
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
        async refreshAuth() {
          const refreshToken = tokens.refreshToken;
          if (refreshToken === null) return;
          const result = await utils.mutate(RefreshTokenDocument, { refreshToken });
          if (result.data) {
            tokens.store(result.data.refreshToken);
            tokens.renewals += 1;
          } else {
            tokens.clear();
          }
        },
      })),
      persistedExchange({ preferGetForPersistedQueries: true, generateHash: sha256Hex }),
      fetchExchange,
    ],
  });
}
