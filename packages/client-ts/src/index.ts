/**
 * @docqueue/client: docqueue from TypeScript (Node 20+ and browsers).
 *
 * `DocqueueClient.api` is the client generated from docqueue's OpenAPI document (openapi-fetch over
 * src/generated/schema.ts, `make client-ts`): every operation, typed. The methods beside it are what
 * a generator cannot write: an upload (or a batch of them) as multipart, following a task or a
 * batch over Server-Sent Events with Last-Event-ID resume and a polling fallback, problem answers as
 * typed errors, and webhook signatures checked exactly as the server signs them.
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./generated/schema.js";

export type { components, paths } from "./generated/schema.js";
export type Task = components["schemas"]["TaskView"];
export type TaskState = Task["state"];
export type Accepted = components["schemas"]["Accepted"];
/** An upload sent with `waitS` whose task ended in time: its full status. */
export type Finished = components["schemas"]["Finished"];
export type Result = components["schemas"]["Result"];
export type Problem = components["schemas"]["Problem"];
export type WebhookEvent = components["schemas"]["WebhookEvent"];
export type Batch = components["schemas"]["BatchView"];
export type BatchState = Batch["state"];
export type BatchAccepted = components["schemas"]["BatchAccepted"];
export type BatchPage = components["schemas"]["BatchPage"];
export type BatchWebhookEvent = components["schemas"]["BatchWebhookEvent"];
type UploadForm = paths["/v1/documents"]["post"]["requestBody"]["content"]["multipart/form-data"];
type BatchForm = paths["/v1/batches"]["post"]["requestBody"]["content"]["multipart/form-data"];

export const TERMINAL_STATES: readonly TaskState[] = ["succeeded", "failed", "cancelled", "dead_lettered"];
export const SIGNATURE_HEADER = "Docqueue-Signature";
/** Receivers refuse a signature older than this (replayed requests), as docqueue's own check does. */
export const SIGNATURE_TOLERANCE_S = 300;

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** A batch has ended once it is no longer `running` (`succeeded` or `completed_with_errors`). */
export function isEnded(state: BatchState): boolean {
  return state !== "running";
}

/** Whether an upload's answer is the finished task (it was sent with `waitS` and ended in time). */
export function isFinished(answer: Accepted | Finished): answer is Finished {
  return "progress" in answer;
}

/** An `application/problem+json` answer (RFC 9457): `code` is docqueue's stable error code. */
export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(`${status} ${problem.code ?? "error"}: ${problem.detail ?? problem.title ?? ""}`);
    this.name = "ProblemError";
    this.status = status;
    this.code = problem.code ?? `http_${status}`;
    this.problem = problem;
  }
}

export interface ClientOptions {
  /** Where the API answers, e.g. https://docqueue.example.com (no /v1). */
  baseUrl: string;
  apiKey: string;
  /** Another fetch (tests, proxies); the platform's by default. */
  fetch?: typeof fetch;
}

/** The upload's form fields (docs: The API); unset ones take the deployment's defaults. */
export interface SubmitOptions {
  filename?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  chunkBy?: UploadForm["chunk_by"];
  engine?: UploadForm["engine"];
  textNormalization?: UploadForm["text_normalization"];
  ocr?: UploadForm["ocr"];
  ocrLanguages?: string;
  callbackUrl?: string;
  /** Seconds the task, its result and its upload are kept once it ended (within the tenant's retention). */
  ttlS?: number;
  /** Sent as `Idempotency-Key`: a retried upload with the same key returns the same task. */
  idempotencyKey?: string;
  /**
   * Sent as `Prefer: wait=N`: when the task ends within N seconds the answer is its full,
   * final status (`Finished`; see `isFinished`), otherwise the usual `Accepted`.
   */
  waitS?: number;
  signal?: AbortSignal;
}

/** A batch's options: an upload's, for every member (`waitS` and `filename` are per upload). */
export interface SubmitBatchOptions extends Omit<SubmitOptions, "filename" | "waitS"> {
  /** Source URLs (https, or s3:// where the deployment allows), one member each, after the files. */
  urls?: string[];
}

/** One file of a batch: its bytes, and the name the batch shows for it. */
export interface BatchFile {
  data: Blob | ArrayBuffer | Uint8Array;
  filename?: string;
}

export interface WaitOptions<T = Task> {
  /** Called with every new status (each event, or each poll that changed something). */
  onProgress?: (status: T) => void;
  signal?: AbortSignal;
  /** How often to poll once the event stream cannot be used (default 1000 ms). */
  pollIntervalMs?: number;
  /** Event stream failures in a row before falling back to polling (default 3). */
  maxStreamFailures?: number;
}

export interface TaskEvent {
  /** The stream id: send it back as `lastEventId` to resume after it. */
  id: string;
  task: Task;
}

/** The member whose change a batch event reports. */
export interface MemberChange {
  task_id: string;
  state: TaskState;
  pages_done: number;
  pages_total: number;
}

export interface BatchEvent {
  /** The stream id: send it back as `lastEventId` to resume after it. */
  id: string;
  /** The batch after the change (without its members). */
  batch: Batch;
  /** The member that changed; null on the first event, which is the batch as it stands. */
  member: MemberChange | null;
}

interface StreamOptions {
  lastEventId?: string;
  signal?: AbortSignal;
}

type Field = [name: string, value: string | number | undefined];

export class DocqueueClient {
  /** The generated client: every operation of the OpenAPI document, typed. */
  readonly api: Client<paths>;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly fetcher: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.headers = { Authorization: `Bearer ${options.apiKey}` };
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.api = createClient<paths>({ baseUrl: this.baseUrl, headers: this.headers, fetch: this.fetcher });
  }

  /** Upload a document; answers at once with the task (202), or the earlier one when deduplicated. */
  async submit(file: Blob | ArrayBuffer | Uint8Array, options: SubmitOptions = {}): Promise<Accepted | Finished> {
    const form = new FormData();
    appendFile(form, "file", { data: file, filename: options.filename });
    appendOptions(form, options);
    const headers: { "Idempotency-Key"?: string; Prefer?: string } = {};
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    if (options.waitS) headers.Prefer = `wait=${Math.floor(options.waitS)}`;
    const { data, error, response } = await this.api.POST("/v1/documents", {
      // The generated body type describes the form's fields; the form itself is sent as built.
      body: form as unknown as UploadForm,
      bodySerializer: (body) => body as unknown as FormData,
      params: { header: headers },
      signal: options.signal,
    });
    return answer(data, error, response);
  }

  async get(taskId: string, signal?: AbortSignal): Promise<Task> {
    const { data, error, response } = await this.api.GET("/v1/tasks/{task_id}", {
      params: { path: { task_id: taskId } },
      signal,
    });
    return answer(data, error, response);
  }

  /** The pages and chunks; a ProblemError with code `task_not_succeeded` (409) until it succeeded. */
  async result(taskId: string, signal?: AbortSignal): Promise<Result> {
    const { data, error, response } = await this.api.GET("/v1/tasks/{task_id}/result", {
      params: { path: { task_id: taskId } },
      signal,
    });
    return answer(data, error, response);
  }

  /** Delete a finished task's result and upload now; `result` then fails with a 410 `result_deleted`. */
  async deleteResult(taskId: string): Promise<Task> {
    const { data, error, response } = await this.api.DELETE("/v1/tasks/{task_id}/result", {
      params: { path: { task_id: taskId } },
    });
    return answer(data, error, response);
  }

  async cancel(taskId: string): Promise<Task> {
    const { data, error, response } = await this.api.DELETE("/v1/tasks/{task_id}", {
      params: { path: { task_id: taskId } },
    });
    return answer(data, error, response);
  }

  /**
   * The task's events (`GET /v1/tasks/{id}/events`), from after `lastEventId` when given, until
   * the stream ends (the server ends it after the terminal event). A problem answer throws.
   */
  async *events(taskId: string, options: StreamOptions = {}): AsyncGenerator<TaskEvent> {
    for await (const message of this.stream(`/v1/tasks/${encodeURIComponent(taskId)}/events`, "task", options)) {
      yield { id: message.id, task: JSON.parse(message.data) as Task };
    }
  }

  /**
   * Follow a task to its end and return its final status. Over the event stream, resumed with
   * Last-Event-ID when it drops; after `maxStreamFailures` failures in a row, by polling.
   */
  async wait(taskId: string, options: WaitOptions = {}): Promise<Task> {
    return follow(
      (stream) => mapEvents(this.events(taskId, stream), (event) => [event.id, event.task]),
      (task) => isTerminal(task.state),
      async () => this.get(taskId, options.signal),
      (task) => JSON.stringify([task.state, task.stage, task.progress]),
      options,
    );
  }

  /**
   * Submit many documents in one request (`POST /v1/batches`): files and/or source URLs, the same
   * options for all. Every member is an ordinary task; the batch is followed as one.
   */
  async submitBatch(files: (BatchFile | Blob)[], options: SubmitBatchOptions = {}): Promise<BatchAccepted> {
    const form = new FormData();
    for (const file of files) appendFile(form, "files", file instanceof Blob ? { data: file } : file);
    if (options.urls?.length) form.append("urls", JSON.stringify(options.urls));
    appendOptions(form, options);
    const { data, error, response } = await this.api.POST("/v1/batches", {
      body: form as unknown as BatchForm,
      bodySerializer: (body) => body as unknown as FormData,
      params: { header: options.idempotencyKey ? { "Idempotency-Key": options.idempotencyKey } : {} },
      signal: options.signal,
    });
    return answer(data, error, response);
  }

  /** A batch, with a page of its members (`limit`, then `members.next_cursor` as `cursor`). */
  async getBatch(
    batchId: string,
    options: { limit?: number; cursor?: string; signal?: AbortSignal } = {},
  ): Promise<Batch> {
    const { data, error, response } = await this.api.GET("/v1/batches/{batch_id}", {
      params: { path: { batch_id: batchId }, query: { limit: options.limit, cursor: options.cursor } },
      signal: options.signal,
    });
    return answer(data, error, response);
  }

  /** Cancel every member that has not ended; answers the batch. */
  async cancelBatch(batchId: string): Promise<Batch> {
    const { data, error, response } = await this.api.DELETE("/v1/batches/{batch_id}", {
      params: { path: { batch_id: batchId } },
    });
    return answer(data, error, response);
  }

  /** The caller's batches, newest first; pass `next_cursor` as `cursor` for the next page. */
  async listBatches(options: { limit?: number; cursor?: string } = {}): Promise<BatchPage> {
    const { data, error, response } = await this.api.GET("/v1/batches", {
      params: { query: { limit: options.limit, cursor: options.cursor } },
    });
    return answer(data, error, response);
  }

  /** The batch's events (`GET /v1/batches/{id}/events`): the batch after each member's change. */
  async *batchEvents(batchId: string, options: StreamOptions = {}): AsyncGenerator<BatchEvent> {
    const path = `/v1/batches/${encodeURIComponent(batchId)}/events`;
    for await (const message of this.stream(path, "batch", options)) {
      const { member = null, ...batch } = JSON.parse(message.data) as Batch & { member?: MemberChange | null };
      yield { id: message.id, batch, member };
    }
  }

  /** Follow a batch until it ended and return it, as `wait` follows a task. */
  async waitBatch(batchId: string, options: WaitOptions<Batch> = {}): Promise<Batch> {
    return follow(
      (stream) => mapEvents(this.batchEvents(batchId, stream), (event) => [event.id, event.batch]),
      (batch) => isEnded(batch.state),
      async () => this.getBatch(batchId, { limit: 1, signal: options.signal }),
      (batch) => JSON.stringify([batch.state, batch.counts, batch.progress]),
      options,
    );
  }

  /** The `event` messages of an event stream; a problem answer throws. */
  private async *stream(path: string, event: string, options: StreamOptions): AsyncGenerator<Message> {
    const headers: Record<string, string> = { ...this.headers, Accept: "text/event-stream" };
    if (options.lastEventId) headers["Last-Event-ID"] = options.lastEventId;
    const response = await this.fetcher(`${this.baseUrl}${path}`, { headers, signal: options.signal });
    if (!response.ok || response.body === null) {
      throw new ProblemError(response.status, await problemOf(response));
    }
    for await (const message of serverSentEvents(response.body)) {
      if (message.event === event && message.data) yield message;
    }
  }
}

/**
 * Follow something to its end over its event stream, resumed after the last event id when it
 * drops; after `maxStreamFailures` failures in a row, by polling (reporting what changed).
 */
async function follow<T>(
  events: (stream: StreamOptions) => AsyncGenerator<[id: string, status: T]>,
  ended: (status: T) => boolean,
  poll: () => Promise<T>,
  pollKey: (status: T) => string,
  options: WaitOptions<T>,
): Promise<T> {
  const report = options.onProgress ?? (() => undefined);
  const maxFailures = options.maxStreamFailures ?? 3;
  let lastEventId: string | undefined;
  let failures = 0;
  while (failures < maxFailures) {
    try {
      for await (const [id, status] of events({ lastEventId, signal: options.signal })) {
        lastEventId = id;
        failures = 0;
        report(status);
        if (ended(status)) return status;
      }
      failures += 1; // ended without a final event: resume after the last one
    } catch (error) {
      if (error instanceof ProblemError && error.status !== 503) throw error;
      if (options.signal?.aborted) throw error;
      failures += 1;
    }
  }
  let seen = "";
  for (;;) {
    const status = await poll();
    const key = pollKey(status);
    if (key !== seen) {
      seen = key;
      report(status);
    }
    if (ended(status)) return status;
    await sleep(options.pollIntervalMs ?? 1000, options.signal);
  }
}

async function* mapEvents<E, T>(
  events: AsyncGenerator<E>,
  pick: (event: E) => [id: string, status: T],
): AsyncGenerator<[id: string, status: T]> {
  for await (const event of events) yield pick(event);
}

function appendFile(form: FormData, field: string, file: BatchFile): void {
  const blob = file.data instanceof Blob ? file.data : new Blob([file.data as BlobPart]);
  form.append(field, blob, file.filename ?? (blob instanceof File ? blob.name : "document"));
}

/** The upload options every submission shares, as form fields; unset ones are not sent. */
function appendOptions(form: FormData, options: SubmitBatchOptions): void {
  const fields: Field[] = [
    ["chunk_size", options.chunkSize],
    ["chunk_overlap", options.chunkOverlap],
    ["chunk_by", options.chunkBy],
    ["engine", options.engine],
    ["text_normalization", options.textNormalization],
    ["ocr", options.ocr],
    ["ocr_languages", options.ocrLanguages],
    ["callback_url", options.callbackUrl],
    ["ttl_s", options.ttlS],
  ];
  for (const [name, value] of fields) {
    if (value !== undefined) form.append(name, String(value));
  }
}

function answer<T>(data: T | undefined, error: unknown, response: Response): T {
  if (response.ok && data !== undefined) return data;
  throw new ProblemError(response.status, asProblem(error, response));
}

function asProblem(body: unknown, response: Response): Problem {
  if (body && typeof body === "object" && "type" in body) return body as Problem;
  return { type: "about:blank", title: response.statusText, status: response.status, detail: String(body ?? "") } as Problem;
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    return asProblem(JSON.parse(text), response);
  } catch {
    return asProblem(text, response);
  }
}

interface Message {
  event: string;
  data: string;
  id: string;
}

/** The WHATWG event-stream format: fields per line, a blank line ends a message, `:` a comment. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<Message> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let message: Message = { event: "message", data: "", id: "" };
  let lastId = "";
  let hasData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (hasData) yield { ...message, data: message.data.replace(/\n$/, ""), id: lastId };
          message = { event: "message", data: "", id: "" };
          hasData = false;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") message.event = value;
        else if (field === "data") {
          message.data += `${value}\n`;
          hasData = true;
        } else if (field === "id" && !value.includes("\0")) lastId = value;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Check a webhook as docqueue signs it: `Docqueue-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of
 * "<t>." + raw body>`. Pass the raw body bytes (before any JSON parsing). Any `v1` may match
 * (secret rotation); a timestamp further than `toleranceS` from now is refused (replays).
 */
export async function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string | ArrayBuffer | Uint8Array,
  options: { toleranceS?: number; now?: number } = {},
): Promise<boolean> {
  const signature = header(headers, SIGNATURE_HEADER);
  if (!signature) return false;
  const fields = signature
    .split(",")
    .map((part) => part.split("="))
    .filter((pair) => pair.length >= 2)
    .map(([name, ...rest]) => [name!.trim(), rest.join("=").trim()] as const);
  const stamps = fields.filter(([name]) => name === "t").map(([, value]) => value);
  if (stamps.length !== 1 || !/^\d+$/.test(stamps[0]!)) return false;
  const timestamp = Number(stamps[0]);
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > (options.toleranceS ?? SIGNATURE_TOLERANCE_S)) return false;
  const encoder = new TextEncoder();
  const raw = typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
  const signed = new Uint8Array([...encoder.encode(`${timestamp}.`), ...raw]);
  const key = await globalThis.crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", key, signed));
  const expected = Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return fields.some(([name, value]) => name === "v1" && constantTimeEqual(value, expected));
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
