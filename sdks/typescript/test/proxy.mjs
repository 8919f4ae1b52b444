// A loopback proxy in front of a real contactd that can spoil answers on purpose: it
// forwards requests and, as `plan(request, n)` says for the n-th request (from 1), answers
// the server's reply, or forwards and then answers 503 instead, or answers 503/429 without
// forwarding, or drops the connection. Every request is recorded.
import { createServer, request as httpRequest } from "node:http";

export async function startProxy(upstreamUrl, plan = () => "forward") {
  const upstream = new URL(upstreamUrl);
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const record = { method: req.method, url: req.url, headers: req.headers, body: body.toString() };
    requests.push(record);
    const action = plan(record, requests.length);
    if (action === "drop") {
      req.socket.destroy();
      return;
    }
    if (typeof action === "object" && action.status) {
      res.writeHead(action.status, { "Content-Type": "application/json", ...action.headers });
      res.end(JSON.stringify(envelope(action.status)));
      return;
    }
    const answer = await forward(upstream, req, body);
    record.upstream = answer;
    if (action === "forward-then-503") {
      res.writeHead(503, { "Content-Type": "application/json" });
      res.end(JSON.stringify(envelope(503)));
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

function forward(upstream, req, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: upstream.host };
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const headers = { ...res.headers };
          delete headers["transfer-encoding"];
          delete headers["connection"];
          delete headers["keep-alive"];
          resolve({ status: res.statusCode, headers, body: Buffer.concat(chunks) });
        });
        res.on("error", reject);
      },
    );
    out.on("error", reject);
    out.end(body);
  });
}

function envelope(status) {
  if (status === 429) {
    return { error: "rate_limited", message: "Too many requests", code: 429, details: {} };
  }
  return { error: "unavailable", message: "The service is unavailable; retry", code: status, details: {} };
}
