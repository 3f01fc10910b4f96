// The person's side of the OAuth dance, in real headless Chromium (Debian's, driven by
// playwright-core), for tests/server/test_browser.py. Python plays the assistant (registration,
// PKCE, the code exchange, MCP calls) and checks what this script reports; this script only does
// what a person does in the browser, and reports what the browser saw.
//
// usage: node browser_dance.mjs NODE_MODULES STEP < plan.json   (prints one JSON line)
//   consent  open the authorize URL, land on the consent page, tick tools, pick a duration and a
//            records window, first with a wrong passphrase (the choices must stay), then the
//            right one, Allow, follow the redirect to the client
//   call     open the consent page a tool call sent the person to (URL-mode elicitation), choose,
//            type the passphrase, Allow, read the page that says it is done
//   account  sign in at /account, read the grants and the audit log, Revoke one grant
// Pages are photographed at a desktop's and a phone's width (PATH-desktop.png, PATH-phone.png).
// Every page's console is collected: Chromium reports each Content-Security-Policy violation
// there, so an empty console means the pages work under their own CSP.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, step] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(join(modules, "playwright-core/index.mjs")).href);
const plan = JSON.parse(await readStdin());
const STEPS = { consent, call, account };
const WIDTHS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

const browser = await chromium.launch({
  executablePath: plan.chromium,
  args: ["--no-sandbox"], // tests run as root here; Chromium refuses its sandbox as root
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(30_000);
  const result = await STEPS[step](context, plan);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}

async function consent(context, plan) {
  const { page, messages } = await watched(context);
  const landing = await page.goto(plan.url);
  const consentUrl = page.url();
  const headers = landing.headers();
  const offered = await page.locator('input[name="tool"]').evaluateAll((boxes) =>
    boxes.map((box) => box.value),
  );
  const defaults = await choices(page);
  await choose(page, plan);
  await page.fill('input[name="passphrase"]', "not the passphrase");
  await page.click('button[name="action"][value="allow"]');
  await page.waitForSelector(".error");
  const wrong = { error: await page.locator(".error").textContent(), kept: await choices(page) };
  await page.fill('input[name="passphrase"]', plan.passphrase);
  const styled = await stylesheetApplied(page);
  const said = await page.locator("body").innerText();
  await photograph(page, plan.screenshot);
  const framed = await tryToFrame(context, consentUrl);
  await page.click('button[name="action"][value="allow"]');
  await until(page, "the client's redirect URI", () =>
    page.waitForURL((url) => url.href.startsWith(plan.callback), { timeout: 15_000 }),
  );
  return {
    consentUrl,
    title: await page.title(),
    status: landing.status(),
    headers: { xfo: headers["x-frame-options"], csp: headers["content-security-policy"] },
    offered,
    defaults,
    wrong,
    said,
    styled,
    framed,
    landed: page.url(),
    messages,
  };
}

async function call(context, plan) {
  const { page, messages } = await watched(context);
  const landing = await page.goto(plan.url);
  const defaults = await choices(page);
  const said = await page.locator("body").innerText();
  await choose(page, plan);
  await page.fill('input[name="passphrase"]', plan.passphrase);
  await photograph(page, plan.screenshot);
  await page.click('button[name="action"][value="allow"]');
  await until(page, "the page saying it is done", () =>
    page.waitForSelector("text=Done", { timeout: 15_000 }),
  );
  await photograph(page, plan.doneScreenshot);
  return {
    status: landing.status(),
    defaults,
    said,
    title: await page.title(),
    done: await page.locator("body").innerText(),
    styled: await stylesheetApplied(page),
    messages,
  };
}

// What the form holds: the ticked tools and the chosen duration and window.
function choices(page) {
  return page.evaluate(() => ({
    tools: [...document.querySelectorAll('input[name="tool"]:checked')].map((b) => b.value),
    duration: document.querySelector('input[name="duration"]:checked')?.value ?? null,
    window: document.querySelector('input[name="window"]:checked')?.value ?? null,
  }));
}

async function choose(page, plan) {
  for (const tool of plan.tick ?? []) {
    await page.locator(`input[name="tool"][value="${tool}"]`).check();
  }
  await page.locator(`input[name="duration"][value="${plan.duration}"]`).check();
  await page.locator(`input[name="window"][value="${plan.window}"]`).check();
}

// The whole page at each width, then back to the desktop's.
async function photograph(page, path) {
  for (const [name, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.replace(/\.png$/, `-${name}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDTHS.desktop);
}

async function account(context, plan) {
  const { page, messages } = await watched(context);
  await page.goto(plan.base + "/account");
  const login = await page.title();
  await page.fill('input[name="passphrase"]', plan.passphrase);
  // The login form is served at /account too: signed in is known by the page's content.
  await page.click("button[type=submit]");
  await until(page, "the signed-in account page", () =>
    page.waitForSelector("text=Grants in force", { timeout: 15_000 }),
  );
  const grants = await tableRows(page, 0);
  const assistants = await tableRows(page, 1);
  const audit = await tableRows(page, 2);
  const intact = await page.locator("h2:has-text('Audit log') + p").textContent();
  const styled = await stylesheetApplied(page);
  await photograph(page, plan.screenshot);
  const row = page
    .locator("table")
    .first() // the grants; the audit log below names clients and tools too
    .locator("tr")
    .filter({ has: page.locator("td", { hasText: plan.client }) })
    .filter({ has: page.locator(`td:text-is("${plan.tool}")`) });
  await row.locator("button", { hasText: "Revoke" }).click();
  // The page we are on is /account already: the reloaded page is known by the row being gone.
  await until(page, "the account page without that grant", () =>
    row.waitFor({ state: "detached", timeout: 15_000 }),
  );
  const after = await tableRows(page, 0);
  return {
    login,
    title: await page.title(),
    grants,
    assistants,
    audit,
    intact,
    styled,
    after,
    messages,
  };
}

// Wait for what a form should lead to; else fail saying where the browser ended and what that
// page said (the pages and their errors hold no health data).
async function until(page, what, wait) {
  try {
    await wait();
  } catch {
    const said = (await page.locator("body").innerText()).slice(0, 300);
    throw new Error(`the form did not lead to ${what}: it ended at ${page.url()} saying ${said}`);
  }
}

// A page whose console errors and warnings (each with the URL it came from), uncaught errors
// and failed requests are collected. Chromium's "verbose" hints (e.g. that a password form has
// no username field) are left out.
async function watched(context) {
  const page = await context.newPage();
  const messages = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") {
      messages.push(`${m.type()}: ${m.text()} @ ${m.location().url}`);
    }
  });
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) =>
    messages.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`),
  );
  return { page, messages };
}

// Load the page inside an iframe of another document, as a clickjacking page would.
async function tryToFrame(context, url) {
  const { page, messages } = await watched(context);
  const refusal = page
    .waitForEvent("console", {
      predicate: (m) => /frame-ancestors|X-Frame-Options/i.test(m.text()),
      timeout: 15_000,
    })
    .then(
      (m) => m.text(),
      () => null, // never refused: the test fails on it
    );
  await page.setContent(`<iframe src="${url}" width=800 height=600></iframe>`);
  const refused = await refusal;
  const frame = page.frames().find((f) => f !== page.mainFrame());
  let fields = -1; // -1: the frame holds no readable document at all
  try {
    fields = await frame.locator('input[name="passphrase"]').count();
  } catch {
    // Chromium's error page in the frame: nothing of the consent page was shown.
  }
  await page.close();
  return { refused, passphraseFields: fields, messages };
}

// Whether /static/style.css (allowed by style-src 'self') reached the page: it sets max-width.
function stylesheetApplied(page) {
  return page.evaluate(() => getComputedStyle(document.body).maxWidth !== "none");
}

function tableRows(page, index) {
  return page
    .locator("table")
    .nth(index)
    .locator("tr")
    .evaluateAll((rows) =>
      rows.slice(1).map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim())),
    );
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
