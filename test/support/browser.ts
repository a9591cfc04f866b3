import { access } from "node:fs/promises";
import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (no browser download: the machine's package is used).
 * The flags keep it off the network: this machine reaches nothing but package registries, and
 * Chromium's background services would otherwise try Google's hosts at every start.
 */
export const CHROMIUM_PATH = process.env.PULLKEEPER_CHROMIUM ?? "/usr/bin/chromium";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

/** Runs `use` with a fresh headless Chromium and closes it afterwards, whatever happens. */
export async function withBrowser<T>(use: (browser: Browser) => Promise<T>): Promise<T> {
  await access(CHROMIUM_PATH).catch(() => {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set PULLKEEPER_CHROMIUM)`);
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 60_000 });
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}
