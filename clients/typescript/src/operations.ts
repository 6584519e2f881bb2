// The operations a task app sends. Codegen turns each into a typed document that
// Apollo Client and urql accept as is, and `npm run manifest` into the server's
// allow-list of trusted documents.
import { graphql } from "./gql";

export const AuthFieldsFragment = graphql(`
  fragment AuthFields on AuthPayload {
    accessToken
    refreshToken
    tokenType
    expiresIn
    user {
      id
      email
      name
    }
  }
`);

export const SignupDocument = graphql(`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      ...AuthFields
    }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...AuthFields
    }
  }
`);

export const RefreshTokenDocument = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      ...AuthFields
    }
  }
`);

export const LogoutDocument = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const MeDocument = graphql(`
  query Me {
    me {
      id
      email
      name
      createdAt
    }
  }
`);

export const TaskFieldsFragment = graphql(`
  fragment TaskFields on Task {
    id
    title
    description
    completed
    completedAt
    priority
    dueAt
    tags
    createdAt
    updatedAt
    parent {
      id
    }
  }
`);

export const TasksDocument = graphql(`
  query Tasks($first: Int, $after: String, $filter: TaskFilter, $orderBy: TaskOrder) {
    tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      edges {
        cursor
        node {
          ...TaskFields
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`);

export const TaskWithSubtasksDocument = graphql(`
  query TaskWithSubtasks($id: ID!, $first: Int) {
    task(id: $id) {
      ...TaskFields
      subtasks(first: $first) {
        totalCount
        edges {
          cursor
          node {
            ...TaskFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const CreateTaskDocument = graphql(`
  mutation CreateTask($input: CreateTaskInput!) {
    createTask(input: $input) {
      ...TaskFields
    }
  }
`);

export const UpdateTaskDocument = graphql(`
  mutation UpdateTask($id: ID!, $input: UpdateTaskInput!) {
    updateTask(id: $id, input: $input) {
      ...TaskFields
    }
  }
`);

export const DeleteTaskDocument = graphql(`
  mutation DeleteTask($id: ID!) {
    deleteTask(id: $id)
  }
`);

export const TaskEventsDocument = graphql(`
  subscription TaskEvents($parentId: ID) {
    taskEvents(parentId: $parentId) {
      kind
      taskId
      at
      task {
        ...TaskFields
      }
    }
  }
`);
