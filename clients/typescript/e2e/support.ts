// What both end-to-end scripts share: where taskql is, a fetch that records what
// went over the wire, the task fixtures and small assertions that exit non-zero.
import { randomUUID } from "node:crypto";

import type { CreateTaskInput, TaskFieldsFragment } from "../src/gql/graphql";

export const GRAPHQL_URL = `${process.env.TASKQL_URL ?? "http://127.0.0.1:8000"}/graphql`;
export const PASSWORD = "correct horse battery staple";

export function uniqueEmail(client: string): string {
  return `${client}-${randomUUID()}@Example.com`;
}

export class AssertionFailed extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

export const TOP_LEVEL_TASKS: CreateTaskInput[] = [
  { title: "Write report", tags: ["Work", "urgent"], priority: "HIGH", description: "Q3 numbers" },
  { title: "Buy milk", tags: ["home"], priority: "LOW" },
  { title: "Plan sprint", tags: ["work"], priority: "MEDIUM", dueAt: "2030-01-15T09:00:00+00:00" },
  { title: "Fix bike", tags: ["home"], priority: "NONE" },
  { title: "Review PR", tags: ["work"], priority: "URGENT" },
];
export const SUBTASK_TITLES = ["Draft outline", "Collect numbers"];

/** Newest first: the contract's default order. */
export const NEWEST_FIRST = TOP_LEVEL_TASKS.map((task) => task.title).reverse();

export function titles(tasks: readonly Pick<TaskFieldsFragment, "title">[]): string[] {
  return tasks.map((task) => task.title);
}

export interface WireExchange {
  method: string;
  operationName: string | null;
  hashed: boolean;
  sentQuery: boolean;
  status: number;
  persistedQueryNotFound: boolean;
}

interface WireParams {
  query?: unknown;
  operationName?: unknown;
  extensions?: { persistedQuery?: unknown } | null;
}

function paramsOf(request: Request, body: string): WireParams {
  if (request.method !== "GET") return JSON.parse(body) as WireParams;
  const url = new URL(request.url);
  const extensions = url.searchParams.get("extensions");
  return {
    query: url.searchParams.get("query") ?? undefined,
    operationName: url.searchParams.get("operationName") ?? undefined,
    extensions: extensions ? (JSON.parse(extensions) as WireParams["extensions"]) : null,
  };
}

/** A fetch that logs each request's method, whether it was hashed, and the outcome. */
export function recordingFetch(log: WireExchange[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const params = paramsOf(request, request.method === "GET" ? "" : await request.clone().text());
    const response = await fetch(request);
    const text = await response.clone().text();
    log.push({
      method: request.method,
      operationName: typeof params.operationName === "string" ? params.operationName : null,
      hashed: Boolean(params.extensions?.persistedQuery),
      sentQuery: typeof params.query === "string" && params.query.length > 0,
      status: response.status,
      persistedQueryNotFound: text.includes("PERSISTED_QUERY_NOT_FOUND"),
    });
    return response;
  };
}

/** The APQ protocol was followed: a miss, a registration with the full query, a GET hit. */
export function checkPersistedQueries(log: readonly WireExchange[]): void {
  const miss = log.find((x) => x.hashed && !x.sentQuery && x.persistedQueryNotFound);
  const registration = log.find(
    (x) => x.hashed && x.sentQuery && x.status === 200 && !x.persistedQueryNotFound,
  );
  const getHit = log.find(
    (x) =>
      x.method === "GET" && x.hashed && !x.sentQuery && x.status === 200 && !x.persistedQueryNotFound,
  );
  check(miss, "no persisted-query miss was answered PERSISTED_QUERY_NOT_FOUND");
  check(registration, "no persisted query was registered by sending it in full");
  check(getHit, `no hashed GET was answered from the store: ${JSON.stringify(log.slice(0, 6))}`);
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Waits out an access token; refuses lifetimes too long for a test run. */
export async function waitForExpiry(expiresIn: number): Promise<void> {
  check(expiresIn <= 10, `start taskql with ACCESS_TOKEN_TTL_SECONDS<=10 (got ${expiresIn})`);
  await sleep((expiresIn + 1) * 1000);
}

export function run(name: string, scenario: () => Promise<void>): void {
  scenario().then(
    () => {
      console.log(`${name}: all checks passed`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`${name}: FAILED`);
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Changes a task over HTTP until a subscription reports the change: a client cannot
 * see when its subscription starts listening, so the first attempts may go unseen.
 */
export async function changeUntilSeen<Event>(
  events: readonly Event[],
  change: (attempt: number) => Promise<unknown>,
  seen: (event: Event) => boolean,
  what: string,
): Promise<Event> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await change(attempt);
    const deadline = Date.now() + 500;
    while (Date.now() < deadline) {
      const found = events.find(seen);
      if (found !== undefined) return found;
      await sleep(25);
    }
  }
  throw new AssertionFailed(`${what}: no event arrived`);
}
