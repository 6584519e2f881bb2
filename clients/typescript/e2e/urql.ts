// urql against a live taskql: the whole life of a task app's session.
import type { AnyVariables, OperationResult } from "@urql/core";

import type {
  TaskEventsSubscription,
  TaskFieldsFragment,
  TasksQueryVariables,
} from "../src/gql/graphql";
import {
  CreateTaskDocument,
  DeleteTaskDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  SignupDocument,
  TaskEventsDocument,
  TasksDocument,
  TaskWithSubtasksDocument,
  UpdateTaskDocument,
} from "../src/operations";
import { SessionTokens } from "../src/session";
import { createUrqlClient } from "../src/urql";
import WebSocket from "ws";

import {
  changeUntilSeen,
  check,
  checkEqual,
  checkPersistedQueries,
  GRAPHQL_URL,
  NEWEST_FIRST,
  PASSWORD,
  recordingFetch,
  run,
  SUBTASK_TITLES,
  titles,
  TOP_LEVEL_TASKS,
  uniqueEmail,
  waitForExpiry,
  type WireExchange,
} from "./support";

function dataOf<Data, Variables extends AnyVariables>(
  result: OperationResult<Data, Variables>,
  what: string,
): Data {
  check(!result.error && result.data, `${what} failed: ${result.error?.message ?? "no data"}`);
  return result.data;
}

run("urql", async () => {
  const wire: WireExchange[] = [];
  const tokens = new SessionTokens();
  const client = createUrqlClient({
    url: GRAPHQL_URL,
    tokens,
    fetch: recordingFetch(wire),
    webSocketImpl: WebSocket,
  });
  const email = uniqueEmail("urql");
  const fresh = { requestPolicy: "network-only" } as const;

  const signedUp = dataOf(
    await client.mutation(SignupDocument, { input: { email, password: PASSWORD } }).toPromise(),
    "signup",
  );
  checkEqual(signedUp.signup.user.name, null, "an omitted name is null");
  const loggedIn = dataOf(
    await client
      .mutation(LoginDocument, { input: { email: email.toLowerCase(), password: PASSWORD } })
      .toPromise(),
    "login",
  );
  checkEqual(loggedIn.login.user.id, signedUp.signup.user.id, "login user id");
  tokens.store(loggedIn.login);

  const me = dataOf(await client.query(MeDocument, {}).toPromise(), "me");
  checkEqual(me.me.email.toLowerCase(), email.toLowerCase(), "me.email");

  const created = new Map<string, TaskFieldsFragment>();
  for (const input of TOP_LEVEL_TASKS) {
    const result = await client.mutation(CreateTaskDocument, { input }).toPromise();
    created.set(input.title, dataOf(result, `createTask ${input.title}`).createTask);
  }
  const report = created.get("Write report");
  check(report, "the report task was not created");
  checkEqual([...report.tags].sort(), ["urgent", "work"], "tags are kept lower-case");
  for (const title of SUBTASK_TITLES) {
    const result = await client
      .mutation(CreateTaskDocument, { input: { title, parentId: report.id, tags: ["work"] } })
      .toPromise();
    checkEqual(dataOf(result, "createTask subtask").createTask.parent?.id, report.id, "parent");
  }

  const seen: TaskFieldsFragment[] = [];
  const variables: TasksQueryVariables = { filter: { topLevel: true }, first: 2 };
  for (let requests = 1; ; requests += 1) {
    const page = dataOf(await client.query(TasksDocument, variables, fresh).toPromise(), "page");
    seen.push(...page.tasks.edges.map((edge) => edge.node));
    checkEqual(page.tasks.totalCount, 5, "totalCount");
    if (!page.tasks.pageInfo.hasNextPage) {
      checkEqual(requests, 3, "pages of two for five tasks");
      break;
    }
    variables.after = page.tasks.pageInfo.endCursor;
  }
  checkEqual(titles(seen), NEWEST_FIRST, "pages");

  const homeByTitle = dataOf(
    await client
      .query(TasksDocument, {
        filter: { tags: ["HOME"] },
        orderBy: { field: "TITLE", direction: "ASC" },
      })
      .toPromise(),
    "home tasks by title",
  );
  checkEqual(titles(homeByTitle.tasks.edges.map((e) => e.node)), ["Buy milk", "Fix bike"], "order");
  const due = dataOf(
    await client
      .query(TasksDocument, { filter: { dueAfter: "2030-01-01T00:00:00Z", dueBefore: "2030-02-01T00:00:00Z" } })
      .toPromise(),
    "due window",
  );
  checkEqual(titles(due.tasks.edges.map((e) => e.node)), ["Plan sprint"], "due filter");

  const subtasks = dataOf(
    await client.query(TaskWithSubtasksDocument, { id: report.id, first: 10 }).toPromise(),
    "subtasks",
  );
  checkEqual(
    titles(subtasks.task?.subtasks.edges.map((e) => e.node) ?? []).sort(),
    [...SUBTASK_TITLES].sort(),
    "subtasks",
  );
  const filteredByParent = dataOf(
    await client.query(TasksDocument, { filter: { parentId: report.id } }).toPromise(),
    "parentId filter",
  );
  checkEqual(filteredByParent.tasks.totalCount, 2, "parentId filter");

  const bike = created.get("Fix bike");
  check(bike, "the bike task was not created");
  const done = dataOf(
    await client
      .mutation(UpdateTaskDocument, { id: bike.id, input: { completed: true, priority: "HIGH" } })
      .toPromise(),
    "complete",
  ).updateTask;
  check(done.completed && done.completedAt, "completing sets completedAt");
  checkEqual(done.priority, "HIGH", "priority");
  const reopened = dataOf(
    await client.mutation(UpdateTaskDocument, { id: bike.id, input: { completed: false } }).toPromise(),
    "reopen",
  ).updateTask;
  checkEqual([reopened.completed, reopened.completedAt], [false, null], "reopening clears it");

  const deleted = dataOf(
    await client.mutation(DeleteTaskDocument, { id: report.id }).toPromise(),
    "delete",
  );
  checkEqual(deleted.deleteTask, report.id, "deleteTask returns the id");
  const gone = dataOf(
    await client.query(TaskWithSubtasksDocument, { id: report.id }, fresh).toPromise(),
    "deleted task",
  );
  checkEqual(gone.task, null, "a deleted task reads as null");
  const remaining = dataOf(await client.query(TasksDocument, {}, fresh).toPromise(), "remaining");
  checkEqual(remaining.tasks.totalCount, 4, "subtasks go with their parent");

  const accessBefore = tokens.accessToken;
  await waitForExpiry(loggedIn.login.expiresIn);
  const renewed = dataOf(await client.query(MeDocument, {}, fresh).toPromise(), "me after expiry");
  checkEqual(renewed.me.email.toLowerCase(), email.toLowerCase(), "me after renewal");
  checkEqual(tokens.renewals, 1, "renewals through the auth exchange");
  check(tokens.accessToken !== accessBefore, "the access token was replaced");

  checkPersistedQueries(wire);

  // Live updates: a subscription over the WebSocket (subscriptionExchange) sees a
  // change made over HTTP.
  const events: TaskEventsSubscription["taskEvents"][] = [];
  const live = client.subscription(TaskEventsDocument, {}).subscribe((result) => {
    if (result.data) events.push(result.data.taskEvents);
    if (result.error) console.error(`urql taskEvents: ${result.error.message}`);
  });
  const event = await changeUntilSeen(
    events,
    (attempt) =>
      client
        .mutation(UpdateTaskDocument, { id: bike.id, input: { title: `Fix bike, take ${attempt}` } })
        .toPromise(),
    (candidate) => candidate.kind === "UPDATED" && candidate.taskId === bike.id,
    "urql taskEvents",
  );
  check(event.task?.title.startsWith("Fix bike, take "), "the event carries the task");
  live.unsubscribe();

  const spent = tokens.refreshToken;
  check(spent, "no refresh token to log out with");
  const loggedOut = dataOf(
    await client.mutation(LogoutDocument, { refreshToken: spent }).toPromise(),
    "logout",
  );
  checkEqual(loggedOut.logout, true, "logout");
  tokens.clear();
  const afterLogout = await client.mutation(RefreshTokenDocument, { refreshToken: spent }).toPromise();
  check(
    afterLogout.error?.graphQLErrors.some((e) => e.extensions.code === "UNAUTHENTICATED"),
    `refreshing a logged-out session must be UNAUTHENTICATED, got ${afterLogout.error?.message}`,
  );
});
