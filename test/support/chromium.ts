/**
 * Debian's Chromium as the browser tests launch it (playwright-core with executablePath: nothing
 * downloads a browser), and the flags they launch it with.
 */
import { existsSync } from 'node:fs';

/** The Chromium binary, or undefined where it is not installed (the browser tests then skip). */
export const CHROMIUM: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * Headless, no network of its own, and none of the browser's own UI pages: Chromium 156's headless
 * mode otherwise loads the omnibox popup's WebUI in a renderer of its own ("WebUI Top Renderer",
 * hundreds of chrome://resources fetches), whose main thread was busy through nearly all of a
 * page load in a trace on a 2-vCPU host, and put a fresh profile's first load of the playground
 * over its 1 s first-figure limit (the line test/playground.test.ts prints, run without this flag).
 * Unknown feature names are ignored, so older Chromium builds take the same flags.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup',
];
