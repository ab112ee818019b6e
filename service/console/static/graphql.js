// A small client of the cx360 GraphQL API: queries over HTTP, subscriptions over WebSocket
// with the graphql-transport-ws protocol. Copy it: it uses nothing but the browser.

const ENDPOINT = "/graphql";
const KEY_ITEM = "cx360.apiKey";  // an API key the user pasted, for this browser tab only
const RETRY_MS = [500, 1000, 2000, 5000, 10000];

/** An answer the API refused, with the message(s) it gave. `unauthenticated`: a key is needed. */
export class ApiError extends Error {
  constructor(message, { unauthenticated = false } = {}) {
    super(message);
    this.name = "ApiError";
    this.unauthenticated = unauthenticated;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key.trim());
  else sessionStorage.removeItem(KEY_ITEM);
}

function authorization() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

function refusal(body, status) {
  const errors = (body && body.errors) || [];
  const message = errors.map((error) => error.message).join("; ") || `the API answered HTTP ${status}`;
  const unauthenticated = status === 401 || errors.some((error) => error.extensions?.code === "UNAUTHENTICATED");
  return new ApiError(message, { unauthenticated });
}

/** Run a query; its `data`, or an ApiError carrying the API's message. */
export async function query(text, variables = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
      body: JSON.stringify({ query: text, variables }),
    });
  } catch (error) {
    throw new ApiError(`the API could not be reached (${error.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the API answered HTTP ${response.status} with no JSON`);
  }
  if (!response.ok || body.errors?.length) throw refusal(body, response.status);
  return body.data;
}

/**
 * Follow a subscription. `variables()` is called at each (re)subscription, so a caller can pass
 * `after` (the last position it saw) to resume with no gap after a lost connection. `onNext(data)`
 * gets each message's data; `onStatus(text)` hears "live", "reconnecting…" or an error message.
 * Returns a function that stops it.
 */
export function subscribe(text, variables, onNext, onStatus = () => {}) {
  let socket = null;
  let stopped = false;
  let attempt = 0;
  let timer = null;

  function connect() {
    const url = new URL(ENDPOINT, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.addEventListener("open", () => {
      const key = apiKey();
      socket.send(JSON.stringify({ type: "connection_init", payload: key ? { authorization: `Bearer ${key}` } : {} }));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        attempt = 0;
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: text, variables: variables() } }));
        onStatus("live");
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (message.type === "next") {
        if (message.payload.errors?.length) onStatus(refusal(message.payload, 200).message);
        else onNext(message.payload.data);
      } else if (message.type === "error") {
        stopped = true;  // the API refused the subscription itself: retrying would be refused again
        onStatus(message.payload.map((error) => error.message).join("; "));
        socket.close(1000);
      }
    });
    socket.addEventListener("close", (event) => {
      if (stopped) return;
      if (event.code === 4401 || event.code === 4403) {
        onStatus(`live updates refused: ${event.reason || "an API key is needed"}`);
        return;
      }
      const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
      attempt += 1;
      onStatus("reconnecting…");
      timer = setTimeout(connect, wait);
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  };
}
