// Apollo Client against a live taskql: the whole life of a task app's session.
import { CombinedGraphQLErrors } from "@apollo/client";

import { createApolloClient } from "../src/apollo";
import type { TaskEventsSubscription, TaskFieldsFragment } from "../src/gql/graphql";
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

run("apollo", async () => {
  const wire: WireExchange[] = [];
  const tokens = new SessionTokens();
  const client = createApolloClient({
    uri: GRAPHQL_URL,
    tokens,
    fetch: recordingFetch(wire),
    webSocketImpl: WebSocket,
  });
  const email = uniqueEmail("apollo");

  const signedUp = await client.mutate({
    mutation: SignupDocument,
    variables: { input: { email, password: PASSWORD, name: "Apollo" } },
  });
  check(signedUp.data, "signup returned no data");
  checkEqual(signedUp.data.signup.tokenType, "Bearer", "token type");

  const loggedIn = await client.mutate({
    mutation: LoginDocument,
    variables: { input: { email: email.toUpperCase(), password: PASSWORD } },
  });
  check(loggedIn.data, "login returned no data");
  checkEqual(loggedIn.data.login.user.id, signedUp.data.signup.user.id, "login user id");
  tokens.store(loggedIn.data.login);

  const me = await client.query({ query: MeDocument });
  checkEqual(me.data?.me.email.toLowerCase(), email.toLowerCase(), "me.email");

  const created = new Map<string, TaskFieldsFragment>();
  for (const input of TOP_LEVEL_TASKS) {
    const result = await client.mutate({ mutation: CreateTaskDocument, variables: { input } });
    check(result.data, `createTask ${input.title} returned no data`);
    created.set(input.title, result.data.createTask);
  }
  const report = created.get("Write report");
  check(report, "the report task was not created");
  checkEqual([...report.tags].sort(), ["urgent", "work"], "tags are kept lower-case");
  for (const title of SUBTASK_TITLES) {
    const result = await client.mutate({
      mutation: CreateTaskDocument,
      variables: { input: { title, parentId: report.id, tags: ["work"] } },
    });
    checkEqual(result.data?.createTask.parent?.id, report.id, `${title}.parent`);
  }

  // relayStylePagination merges every page into one list for these variables.
  const topLevel = { filter: { topLevel: true } };
  const pages = client.watchQuery({ query: TasksDocument, variables: { ...topLevel, first: 2 } });
  const subscription = pages.subscribe(() => undefined);
  let page = await pages.refetch();
  let requests = 1;
  while (page.data?.tasks.pageInfo.hasNextPage) {
    page = await pages.fetchMore({ variables: { after: page.data.tasks.pageInfo.endCursor } });
    requests += 1;
  }
  const merged = client.readQuery({ query: TasksDocument, variables: { ...topLevel, first: 2 } });
  subscription.unsubscribe();
  checkEqual(requests, 3, "pages of two for five tasks");
  checkEqual(merged?.tasks.totalCount, 5, "totalCount");
  checkEqual(titles(merged?.tasks.edges.map((edge) => edge.node) ?? []), NEWEST_FIRST, "pages");

  const byPriority = await client.query({
    query: TasksDocument,
    variables: {
      filter: { tags: ["work"], topLevel: true },
      orderBy: { field: "PRIORITY", direction: "DESC" },
    },
  });
  checkEqual(
    titles(byPriority.data?.tasks.edges.map((edge) => edge.node) ?? []),
    ["Review PR", "Write report", "Plan sprint"],
    "work tasks by priority",
  );
  const searched = await client.query({
    query: TasksDocument,
    variables: { filter: { search: "MILK" } },
  });
  checkEqual(titles(searched.data?.tasks.edges.map((e) => e.node) ?? []), ["Buy milk"], "search");

  const withSubtasks = await client.query({
    query: TaskWithSubtasksDocument,
    variables: { id: report.id, first: 10 },
  });
  checkEqual(withSubtasks.data?.task?.subtasks.totalCount, 2, "subtask count");

  const milk = created.get("Buy milk");
  check(milk, "the milk task was not created");
  const completed = await client.mutate({
    mutation: UpdateTaskDocument,
    variables: { id: milk.id, input: { completed: true, title: "Buy oat milk" } },
  });
  const done = completed.data?.updateTask;
  check(done?.completed && done.completedAt, "completing sets completed and completedAt");
  checkEqual(done.title, "Buy oat milk", "updated title");
  check(done.updatedAt >= milk.updatedAt, "updatedAt moves forward");
  const plan = created.get("Plan sprint");
  check(plan?.dueAt, "the plan task has a due date");
  const cleared = await client.mutate({
    mutation: UpdateTaskDocument,
    variables: { id: plan.id, input: { dueAt: null } },
  });
  checkEqual(cleared.data?.updateTask.dueAt, null, "an explicit null clears dueAt");
  const completedOnly = await client.query({
    query: TasksDocument,
    variables: { filter: { completed: true } },
    fetchPolicy: "network-only",
  });
  checkEqual(
    titles(completedOnly.data?.tasks.edges.map((e) => e.node) ?? []),
    ["Buy oat milk"],
    "completed filter",
  );

  const deleted = await client.mutate({ mutation: DeleteTaskDocument, variables: { id: report.id } });
  checkEqual(deleted.data?.deleteTask, report.id, "deleteTask returns the id");
  client.cache.evict({ id: client.cache.identify({ __typename: "Task", id: report.id }) });
  const remaining = await client.query({
    query: TasksDocument,
    variables: {},
    fetchPolicy: "network-only",
  });
  checkEqual(remaining.data?.tasks.totalCount, 4, "subtasks go with their parent");

  const accessBefore = tokens.accessToken;
  await waitForExpiry(loggedIn.data.login.expiresIn);
  const renewed = await client.query({ query: MeDocument, fetchPolicy: "network-only" });
  checkEqual(renewed.data?.me.email.toLowerCase(), email.toLowerCase(), "me after renewal");
  checkEqual(tokens.renewals, 1, "renewals through the error link");
  check(tokens.accessToken !== accessBefore, "the access token was replaced");

  checkPersistedQueries(wire);

  // Live updates: a subscription over the WebSocket (the split link's other side)
  // sees a change made over HTTP.
  const events: TaskEventsSubscription["taskEvents"][] = [];
  let liveError: unknown = null;
  const live = client.subscribe({ query: TaskEventsDocument, variables: {} }).subscribe({
    next: (result) => {
      if (result.data) events.push(result.data.taskEvents);
    },
    error: (error: unknown) => {
      liveError = error;
    },
  });
  const event = await changeUntilSeen(
    events,
    (attempt) =>
      client.mutate({
        mutation: UpdateTaskDocument,
        variables: { id: milk.id, input: { title: `Buy milk, take ${attempt}` } },
      }),
    (candidate) => candidate.kind === "UPDATED" && candidate.taskId === milk.id,
    `apollo taskEvents (${String(liveError)})`,
  );
  check(event.task?.title.startsWith("Buy milk, take "), "the event carries the task");
  check(event.at >= milk.updatedAt, "the event's commit time");
  live.unsubscribe();

  const spent = tokens.refreshToken;
  check(spent, "no refresh token to log out with");
  const loggedOut = await client.mutate({ mutation: LogoutDocument, variables: { refreshToken: spent } });
  checkEqual(loggedOut.data?.logout, true, "logout");
  tokens.clear();
  const afterLogout = await client
    .mutate({ mutation: RefreshTokenDocument, variables: { refreshToken: spent } })
    .then(
      () => null,
      (error: unknown) => error,
    );
  check(
    CombinedGraphQLErrors.is(afterLogout) &&
      afterLogout.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED"),
    `refreshing a logged-out session must be UNAUTHENTICATED, got ${String(afterLogout)}`,
  );
  await client.clearStore();
});
