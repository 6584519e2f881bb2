// Writes trusted-documents.json: sha256 -> document for every operation in
// src/operations.ts, spelled exactly as Apollo Client and urql send it (each adds
// `__typename` its own way). taskql's allow-list mode runs only these documents.
// `--check` fails instead of writing when the committed file is stale.
import { readFile, writeFile } from "node:fs/promises";

import { ApolloClient, ApolloLink } from "@apollo/client";
import { print } from "@apollo/client/utilities";
import { formatDocument, stringifyDocument } from "@urql/core";
import type { DocumentNode, OperationDefinitionNode } from "graphql";
import { firstValueFrom, of } from "rxjs";

import { createTaskqlCache } from "../src/apollo";
import * as operations from "../src/operations";
import { sha256Hex } from "../src/session";

const MANIFEST = new URL("../trusted-documents.json", import.meta.url);

function isOperation(document: DocumentNode): boolean {
  return document.definitions.some((definition) => definition.kind === "OperationDefinition");
}

function operationKind(document: DocumentNode): OperationDefinitionNode["operation"] {
  const definition = document.definitions.find((d) => d.kind === "OperationDefinition");
  if (!definition || definition.kind !== "OperationDefinition") throw new Error("no operation");
  return definition.operation;
}

/** What Apollo Client puts on the wire: its own document transforms, then its printer. */
async function apolloSpelling(document: DocumentNode): Promise<string> {
  let sent: string | null = null;
  const client = new ApolloClient({
    cache: createTaskqlCache(),
    link: new ApolloLink((operation) => {
      sent = print(operation.query);
      return of({ data: null });
    }),
  });
  const kind = operationKind(document);
  const request =
    kind === "mutation"
      ? client.mutate({ mutation: document, errorPolicy: "all" })
      : kind === "subscription"
        ? firstValueFrom(client.subscribe({ query: document, errorPolicy: "all" }))
        : client.query({ query: document, errorPolicy: "all", fetchPolicy: "no-cache" });
  await request.catch(() => undefined);
  if (sent === null) throw new Error("Apollo Client sent nothing");
  return sent;
}

/** What urql puts on the wire: cacheExchange's `__typename` additions, then its printer. */
function urqlSpelling(document: DocumentNode): string {
  return stringifyDocument(formatDocument(document));
}

async function manifest(): Promise<string> {
  const entries: [string, string][] = [];
  for (const document of Object.values(operations) as DocumentNode[]) {
    if (!isOperation(document)) continue;
    for (const text of new Set([await apolloSpelling(document), urqlSpelling(document)])) {
      entries.push([await sha256Hex(text), text]);
    }
  }
  entries.sort(([a], [b]) => a.localeCompare(b));
  return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
}

const wanted = await manifest();
if (process.argv.includes("--check")) {
  const committed = await readFile(MANIFEST, "utf8").catch(() => "");
  if (committed !== wanted) {
    console.error("trusted-documents.json is stale: run `npm run manifest` and commit it");
    process.exit(1);
  }
} else {
  await writeFile(MANIFEST, wanted);
}
