// Opens GraphiQL (GET /graphql in a browser) in headless Chromium against a running server:
// the page loads with nothing from outside the server, and running its query shows data.
//
//   node graphiql-check.mjs http://127.0.0.1:8080
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const origin = new URL(base).origin;
const fail = (message) => {
  console.error(`graphiql check: ${message}`);
  process.exitCode = 1;
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  const outside = [];
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) outside.push(url);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  const query = '{ products(limit: 2) { name price } }';
  await page.goto(`${base}/graphql?query=${encodeURIComponent(query)}`, { waitUntil: 'networkidle' });
  await page.waitForSelector('.graphiql-container', { timeout: 30000 });
  await page.locator('.graphiql-execute-button').first().click();
  const result = page.locator('.graphiql-response');
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-response')?.textContent ?? '').includes('"products"'),
    null,
    { timeout: 30000 },
  );
  const text = await result.innerText();
  console.log(`graphiql check: the query answered ${text.replace(/\s+/g, ' ').slice(0, 80)}…`);
  if (!text.includes('"price"')) fail(`unexpected result: ${text}`);

  if (outside.length > 0) fail(`requests left the server: ${outside.join(', ')}`);
  if (errors.length > 0) fail(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}
