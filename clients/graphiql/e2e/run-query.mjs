// Opens taskql's GraphiQL in headless Chromium, puts a bearer token in the
// headers editor, runs a query and prints what the response pane shows, as JSON.
// Every request that leaves 127.0.0.1 is refused and reported: the page must
// need nothing but taskql.
import { chromium } from "playwright-core";

const { TASKQL_URL, TASKQL_TOKEN, GRAPHIQL_QUERY, CHROMIUM_PATH } = process.env;
const TIMEOUT_MS = 30_000;

const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const outcome = { response: null, external: [], problems: [] };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.route("**/*", (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === "127.0.0.1") return route.continue();
    outcome.external.push(route.request().url());
    return route.abort();
  });
  page.on("pageerror", (error) => outcome.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) {
      outcome.problems.push(`console: ${message.text().slice(0, 300)}`);
    }
  });

  await page.goto(`${TASKQL_URL}/graphql`, { waitUntil: "load" });
  const queryEditor = page.locator(".graphiql-query-editor .monaco-editor").first();
  await queryEditor.waitFor();
  await replaceEditorText(page, queryEditor, GRAPHIQL_QUERY ?? "{ me { email } }");

  await page.getByRole("button", { name: "Headers" }).click();
  const headersEditor = page.locator(".graphiql-editor-tool .monaco-editor").last();
  await headersEditor.waitFor();
  await replaceEditorText(
    page,
    headersEditor,
    JSON.stringify({ Authorization: `Bearer ${TASKQL_TOKEN}` }),
  );

  await page.locator(".graphiql-execute-button").click();
  const response = page.locator(".graphiql-response .view-lines");
  await response.filter({ hasText: '"data"' }).or(response.filter({ hasText: '"errors"' })).waitFor();
  outcome.response = (await response.innerText()).replace(/\u00a0/g, " ");
} catch (error) {
  outcome.problems.push(String(error));
} finally {
  await browser.close();
}
outcome.problems = outcome.problems.slice(0, 20);
console.log(JSON.stringify(outcome));
// exitCode, not exit(): a piped stdout must drain before Node.js ends.
process.exitCode = outcome.response && outcome.problems.length === 0 ? 0 : 1;

async function replaceEditorText(page, editor, text) {
  await editor.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  // One input event, as a paste: Monaco closes no brackets for it.
  await page.keyboard.insertText(text);
}
