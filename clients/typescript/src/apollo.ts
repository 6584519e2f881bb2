// Apollo Client set up for taskql: normalised cache with Relay-style pagination,
// bearer tokens renewed through `refreshToken` on an expired-token error,
// automatic persisted queries sent as GET, and subscriptions over a WebSocket
// (GraphQLWsLink, chosen by a split link).
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
} from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { from, switchMap } from "rxjs";

import { createLiveClient, webSocketUrl } from "./live";
import { RefreshTokenDocument } from "./operations";
import { isExpiredAccessToken, type SessionTokens, sha256Hex, singleFlight } from "./session";

export interface ApolloOptions {
  uri: string;
  tokens: SessionTokens;
  fetch?: typeof fetch;
  /** For subscriptions where there is no global WebSocket (Node.js 20: the `ws` package). */
  webSocketImpl?: unknown;
}

export function createTaskqlCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      // Ids are opaque global ids, so the default `__typename:id` keys are stable.
      // A connection's pages are one list per filter and order: `first` and
      // `after` only say which slice of it a request fetches.
      Query: { fields: { tasks: relayStylePagination(["filter", "orderBy"]) } },
      User: { fields: { tasks: relayStylePagination(["filter", "orderBy"]) } },
      Task: { fields: { subtasks: relayStylePagination() } },
    },
  });
}

function persistedQueriesOverGet(): PersistedQueryLink {
  return new PersistedQueryLink({ sha256: sha256Hex, useGETForHashedQueries: true });
}

export function createApolloClient({
  uri,
  tokens,
  fetch,
  webSocketImpl,
}: ApolloOptions): ApolloClient {
  const http = new HttpLink({ uri, fetch });

  // Renewal goes through its own client: it must not wait behind, or retry
  // through, the error link of the requests that are waiting for it.
  const renewalClient = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([persistedQueriesOverGet(), http]),
  });
  const renew = singleFlight(async () => {
    const refreshToken = tokens.refreshToken;
    if (refreshToken === null) throw new Error("no refresh token: log in again");
    const { data } = await renewalClient.mutate({
      mutation: RefreshTokenDocument,
      variables: { refreshToken },
    });
    if (!data) {
      tokens.clear();
      throw new Error("the session has ended: log in again");
    }
    tokens.store(data.refreshToken);
    tokens.renewals += 1;
  });

  const renewExpiredToken = new ErrorLink(({ error, operation, forward }) => {
    if (!CombinedGraphQLErrors.is(error) || !isExpiredAccessToken(error.errors)) return;
    return from(renew()).pipe(switchMap(() => forward(operation)));
  });

  const bearerToken = new SetContextLink((previous) => ({
    headers: {
      ...previous.headers,
      ...(tokens.accessToken ? { authorization: `Bearer ${tokens.accessToken}` } : {}),
    },
  }));

  const live = new GraphQLWsLink(
    createLiveClient({ url: webSocketUrl(uri), tokens, renew, webSocketImpl }),
  );
  const isSubscription = ({ query }: ApolloLink.Operation) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  };

  return new ApolloClient({
    cache: createTaskqlCache(),
    link: ApolloLink.split(
      isSubscription,
      live,
      ApolloLink.from([renewExpiredToken, bearerToken, persistedQueriesOverGet(), http]),
    ),
  });
}
