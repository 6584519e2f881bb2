// taskql's GraphiQL: everything it needs comes from taskql itself, so the page
// works offline and under `script-src 'self'`. The headers editor starts open:
// paste {"Authorization": "Bearer <accessToken from login>"} there. Subscriptions
// run over a WebSocket on the same /graphql path (graphql-ws), whose
// connection_init carries those same headers.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import "graphiql/style.css";
import "./page.css";

const WORKERS = { json: "json.worker.js", graphql: "graphql.worker.js" };

// Monaco runs its language services in workers; they are bundled beside this file.
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    return new Worker(new URL(WORKERS[label] ?? "editor.worker.js", import.meta.url));
  },
};

const DEFAULT_QUERY = `# Sign up or log in, then put the access token in the Headers tab:
# {"Authorization": "Bearer <accessToken>"}
mutation Login {
  login(input: {email: "you@example.com", password: "your password"}) {
    accessToken
    refreshToken
    expiresIn
  }
}

query Me {
  me {
    email
  }
}
`;

const endpoint = new URL(document.body.dataset.endpoint ?? "/graphql", window.location.href);
const subscriptionUrl = new URL(endpoint);
subscriptionUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
const fetcher = createGraphiQLFetcher({ url: endpoint.href, subscriptionUrl: subscriptionUrl.href });

createRoot(document.getElementById("graphiql")).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: "{}",
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
  }),
);
