// The REST API of docs/api.md over fetch: JSON in, JSON out, problem+json errors as ApiError.
import { setServerTime } from "./format.js";
import { attributionHeaders } from "./attribution.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? "network" : "error");
    this.detail = problem.detail || "";
    this.field = problem.field || null;
    this.problem = problem;
  }
}

/** A random key for Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api(method, path, { token, body, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  if (method === "POST" && (path === "/api/v1/orders" || path.endsWith("/reservations"))) Object.assign(headers, attributionHeaders());
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { code: "network", detail: String(error) });
  }
  setServerTime(response.headers.get("Date"));
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}

/** A download (e.g. text/csv) with the same auth and problem+json errors as api(); resolves to a Blob. */
export async function download(path, { token, accept }) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch (error) {
    throw new ApiError(0, { code: "network", detail: String(error) });
  }
  if (!response.ok) {
    const text = await response.text();
    let problem = {};
    try {
      problem = JSON.parse(text);
    } catch {
      problem = { detail: text.slice(0, 200) };
    }
    throw new ApiError(response.status, problem);
  }
  return response.blob();
}

/** The first nonce whose SHA-256 of `${challenge}:${nonce}` starts with `bits` zero bits. */
async function solveProof(challenge, bits) {
  const encoder = new TextEncoder();
  for (let n = 0; n < 1 << 26; n += 1) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${n}`)));
    let zeros = 0;
    for (const byte of digest) {
      if (byte === 0) { zeros += 8; continue; }
      zeros += Math.clz32(byte) - 24;
      break;
    }
    if (zeros >= bits) return String(n);
  }
  throw new ApiError(0, { code: "proof_failed", detail: "Could not solve the challenge" });
}

/** A guest session; when the server asks for proof-of-work (busy networks), solves it and retries once. */
export async function guestSession(nickname) {
  try {
    return await api("POST", "/api/v1/auth/guest", { body: { nickname } });
  } catch (error) {
    if (error.code !== "proof_required" || !crypto.subtle) throw error;
    const { challenge, bits } = error.problem;
    const nonce = await solveProof(challenge, bits);
    return api("POST", "/api/v1/auth/guest", { body: { nickname, proof: { challenge, nonce } } });
  }
}

/** Stored sessions: the host's login and the viewer's guest session live in localStorage. */
export const session = {
  get(kind) {
    try {
      return JSON.parse(localStorage.getItem(`liveshop.${kind}`) || "null");
    } catch {
      return null;
    }
  },
  set(kind, value) {
    localStorage.setItem(`liveshop.${kind}`, JSON.stringify(value));
  },
  clear(kind) {
    localStorage.removeItem(`liveshop.${kind}`);
  },
};

const products = new Map();
/** A product by id, fetched once per page (offers carry only product_id). */
export async function product(id) {
  if (!products.has(id)) products.set(id, api("GET", `/api/v1/products/${encodeURIComponent(id)}`).catch((e) => {
    products.delete(id);
    throw e;
  }));
  return products.get(id);
}
export function rememberProduct(p) {
  if (p && p.id) products.set(p.id, Promise.resolve(p));
}
