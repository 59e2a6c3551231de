// N subscribers of `postCreated` over graphql-transport-ws; then POSTS posts are created over
// REST, one after another, and the script waits until every subscriber has received every
// post. Prints deliveries per second (N × POSTS / elapsed) and the slowest subscriber's lag.
//
//   node subscribers.mjs http://127.0.0.1:8080 TOKEN 1000 50
import WebSocket from "ws";

const [base, token, nArg, postsArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);
const posts = Number(postsArg ?? 50);
const wsUrl = base.replace(/^http/, "ws") + "/graphql";

function subscriber() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, "graphql-transport-ws");
    const s = { ws, received: 0, last: 0 };
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: {} })));
    ws.on("message", (raw) => {
      const m = JSON.parse(raw);
      if (m.type === "connection_ack") {
        ws.send(JSON.stringify({ type: "subscribe", id: "1", payload: { query: "subscription { postCreated { id title } }" } }));
        setTimeout(() => resolve(s), 50);
      } else if (m.type === "next") {
        s.received++;
        s.last = performance.now();
      }
    });
    ws.on("error", reject);
  });
}

const subs = [];
for (let i = 0; i < n; i += 50) {
  subs.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, subscriber))));
}
await new Promise((r) => setTimeout(r, 500));
const started = performance.now();
for (let i = 0; i < posts; i++) {
  const res = await fetch(`${base}/v2/posts`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: `bench ${i}`, content: "subscriptions" }),
  });
  if (res.status !== 201) throw new Error(`POST /v2/posts: ${res.status}`);
}
const want = n * posts;
const deadline = Date.now() + 60000;
while (subs.reduce((a, s) => a + s.received, 0) < want && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
const got = subs.reduce((a, s) => a + s.received, 0);
const end = Math.max(...subs.map((s) => s.last));
const secs = (end - started) / 1000;
console.log(`subscribers ${n}   posts ${posts}   deliveries ${got}/${want}   ${Math.round(got / secs)} deliveries/s   last delivery after ${secs.toFixed(2)} s`);
for (const s of subs) s.ws.close();
process.exit(got === want ? 0 : 1);
