// A server action's POST as the browser sent it, stopped before it reached the server, to replay by hand with
// another user's cookies (the action must refuse by itself, whatever the UI shows).
import { expect, type APIRequestContext, type Page, type Request } from "@playwright/test";

export interface CapturedAction {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

export async function captureActionPost(page: Page, trigger: () => Promise<void>): Promise<CapturedAction> {
  let captured: Request | undefined;
  const matcher = (url: URL) => url.origin === new URL(page.url()).origin;
  await page.route(matcher, async (route) => {
    if (!captured && route.request().method() === "POST" && route.request().headers()["next-action"]) {
      captured = route.request();
      await route.abort();
    } else {
      await route.continue();
    }
  });
  await trigger();
  await expect.poll(() => captured !== undefined).toBe(true);
  await page.unroute(matcher);
  const request = captured as Request;
  const h = request.headers();
  const headers: Record<string, string> = { accept: "text/x-component", origin: new URL(request.url()).origin };
  for (const name of ["next-action", "content-type", "next-router-state-tree"]) {
    const value = h[name];
    if (value) headers[name] = value;
  }
  return { url: request.url(), headers, body: request.postDataBuffer() ?? Buffer.alloc(0) };
}

export function replay(request: APIRequestContext, action: CapturedAction) {
  return request.post(action.url, { headers: action.headers, data: action.body });
}
