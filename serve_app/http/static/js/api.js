// Calls to the server's API: the API key (kept for the browser session), the error
// envelope turned into a sentence, and the live WebSocket.

const KEY_NAME = "serve-transcribe.api-key";

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

/** An API failure with the server's own sentence (the envelope's ``detail``). */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  let code = "";
  try {
    const body = await response.json();
    if (body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    code = body.code || "";
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("auth-required"));
  return new ApiError(response.status, detail, code);
}

/** fetch with the key; JSON bodies for plain objects, FormData as is. Returns the
 *  Response (``raw``) or its parsed JSON; throws ApiError with the server's message. */
export async function api(path, { method = "GET", json, form, raw = false } = {}) {
  const headers = { ...authHeaders(), Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, "The server cannot be reached: is it running?", "network");
  }
  if (!response.ok) throw await failure(response);
  return raw ? response : response.json();
}

/** Server-sent events of a POST (the streaming chat): calls ``onEvent`` per JSON event. */
export async function postEvents(path, json, onEvent) {
  const response = await api(path, { method: "POST", json, raw: true });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) onEvent(JSON.parse(line.slice(6)));
      }
    }
  }
}

/** The job's live events from ``after`` on; the key travels as a WebSocket subprotocol. */
export function liveSocket(jobId, after) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/api/transcribe/live/${encodeURIComponent(jobId)}?after=${after}`;
  const key = apiKey();
  return new WebSocket(url, key ? ["transcribe", `bearer.${key}`] : ["transcribe"]);
}

/** A sentence for the person, whatever went wrong. */
export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return "The server did not accept the API key. Enter it again.";
    return error.message;
  }
  return `Something went wrong in this page: ${error && error.message ? error.message : error}`;
}
