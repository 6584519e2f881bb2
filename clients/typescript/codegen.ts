import type { CodegenConfig } from "@graphql-codegen/cli";

// TASKQL_SCHEMA may name another SDL file or a running /graphql endpoint;
// by default the types follow the reviewed, committed schema.
const config: CodegenConfig = {
  schema: process.env.TASKQL_SCHEMA ?? "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: "string" },
      },
    },
  },
};

export default config;
