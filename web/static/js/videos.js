// What the owner's pages share: polling while a clip is on its way, and the delete rule.

import { api } from "./api.js";

export const POLL_MS = 3000;
export const PENDING = new Set(["uploaded", "processing"]);

// The contract: a video may be deleted while it is not public (uploaded, processing, failed).
export function deletable(status) {
  return status !== "processed";
}

export const NOT_DELETABLE = "Processed clips are public for voting and cannot be deleted.";

export async function deleteVideo(id) {
  return api(`/api/videos/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/**
 * Call `tick` now and every POLL_MS while it returns true; paused while the tab is hidden.
 * Errors (a network blip) are reported through onError and polling goes on.
 */
export function poll(tick, onError) {
  let timer = null;
  let running = false;
  const run = async () => {
    timer = null;
    if (running) return;
    running = true;
    let again = true;
    try {
      again = await tick();
    } catch (error) {
      onError?.(error);
    } finally {
      running = false;
    }
    if (again && !document.hidden) timer = setTimeout(run, POLL_MS);
    else if (again) document.addEventListener("visibilitychange", run, { once: true });
  };
  run();
  return () => timer && clearTimeout(timer);
}
