// Runs graphql-http's GraphQL-over-HTTP audit suite against the server at argv[2].
// Prints one line per audit and a summary; exits non-zero unless every audit is ok.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}

const results = await auditServer({ url });
for (const result of results) {
  const detail = result.status === 'ok' ? '' : ` -- ${result.reason}`;
  console.log(`${result.status} ${result.id} ${result.name}${detail}`);
}
const ok = results.filter((result) => result.status === 'ok').length;
console.log(`${ok}/${results.length} ok`);
process.exit(ok === results.length ? 0 : 1);
