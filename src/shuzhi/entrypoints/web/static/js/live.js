// The live feed: Server-Sent Events read through fetch (so the same headers as every API call go
// with it — the X-Actor header today, the session cookie after sign-in), reconnecting with the last id.
import { authHeaders } from "./core.js";

// onWarning (optional) gets each warning that fires, changes level or ends (``event: warning``).
export function openStream(afterId, onItem, onStatus, onWarning, area = null) {
  let last = afterId;
  let lastWarning = null;
  let stopped = false;
  let controller = null;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const q = new URLSearchParams();
        if (last != null) q.set("after_id", last);
        if (lastWarning != null) q.set("after_warning", lastWarning);
        if (area) q.set("area", area);  // an area's cockpit: that area's lines only
        const r = await fetch(`/api/live/stream?${q}`, {
          headers: { Accept: "text/event-stream", ...authHeaders("GET") }, credentials: "same-origin",
          signal: controller.signal,
        });
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        onStatus(true);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const msg = parse(block);
            if (msg.event === "timeline" && msg.data) {
              const item = JSON.parse(msg.data);
              last = item.id;
              onItem(item);
            } else if (msg.event === "warning" && msg.data) {
              const change = JSON.parse(msg.data);
              lastWarning = change.id;
              if (onWarning) onWarning(change);
            } else if (msg.event === "hello" && msg.data) {
              const hello = JSON.parse(msg.data);
              if (last == null) last = hello.after_id;
              if (lastWarning == null) lastWarning = hello.after_warning;
            }
          }
        }
      } catch (e) {
        if (stopped) return;
        onStatus(false);
      }
      if (!stopped) await new Promise((ok) => setTimeout(ok, 1500));
    }
  }

  run();
  return () => { stopped = true; if (controller) controller.abort(); };
}

function parse(block) {
  const msg = { event: "message", data: "" };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "event") msg.event = value;
    else if (field === "data") msg.data += (msg.data ? "\n" : "") + value;
    else if (field === "id") msg.id = value;
  }
  return msg;
}
