// Opens /docs in headless Chromium (Debian's, via playwright-core) against a running server
// and checks what a newcomer meets: the page renders the v2 operations first, it requests
// nothing from outside the server, and "Execute" on GET /v2/products shows a 200.
//
//   node docs-check.mjs http://127.0.0.1:8080
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const origin = new URL(base).origin;
const fail = (message) => {
  console.error(`docs check: ${message}`);
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

  await page.goto(`${base}/docs/`, { waitUntil: 'networkidle' });
  await page.waitForSelector('.opblock', { timeout: 30000 });
  const paths = await page.$$eval('.opblock .opblock-summary-path', (els) => els.map((e) => e.textContent.trim()));
  console.log(`docs check: ${paths.length} operations rendered`);
  if (paths.length < 20) fail(`only ${paths.length} operations rendered`);
  if (paths.some((p) => p.startsWith('/v1/'))) fail('the first document shown lists v1 operations');
  if (!paths.includes('/v2/products')) fail('GET /v2/products is not on the page');
  if ((await page.$$('.opblock.opblock-deprecated')).length > 0) fail('deprecated operations are shown first');

  // Expand GET /v2/products and execute it as the page offers it, untouched.
  const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path', { hasText: /^\/v2\/products$/ }) });
  await op.locator('.opblock-summary').first().click();
  const tryOut = op.locator('button.try-out__btn');
  if ((await tryOut.count()) > 0 && (await tryOut.first().innerText()).trim() === 'Try it out') await tryOut.first().click();
  await op.locator('button.execute').first().click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 30000 });
  const code = (await status.innerText()).trim();
  console.log(`docs check: Execute on GET /v2/products → ${code}`);
  if (code !== '200') fail(`Execute on GET /v2/products answered ${code}`);

  if (outside.length > 0) fail(`requests left the server: ${outside.join(', ')}`);
  if (errors.length > 0) fail(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}
