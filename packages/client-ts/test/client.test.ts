/**
 * The TypeScript client against a live docqueue (tests/client/test_typescript_client.py starts one
 * and runs these with node's test runner): a PDF submitted, followed over SSE and read back; 401,
 * 404 and 413 as typed problems; the polling fallback; Last-Event-ID resume; a real webhook's
 * signature verified, and tampered ones refused; batches submitted, followed, paged and cancelled.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";

import { DocqueueClient, isFinished, ProblemError, verifyWebhook, type Task } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set: run these through tests/client/test_typescript_client.py`);
  return value;
}

const baseUrl = required("DOCQUEUE_URL");
const apiKey = required("DOCQUEUE_API_KEY");
const secret = required("DOCQUEUE_WEBHOOK_SECRET");
const maxUploadBytes = Number(required("DOCQUEUE_MAX_UPLOAD_BYTES"));
const pdf = await readFile(required("DOCQUEUE_TEST_PDF"));
const client = new DocqueueClient({ baseUrl, apiKey });

/** A fetch that cannot open event streams (as behind a proxy that buffers them): clients poll. */
const noStreams: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.endsWith("/events")) throw new TypeError("fetch failed (event streams blocked by a proxy)");
  return fetch(input, init);
};

async function expectProblem(promise: Promise<unknown>, status: number, code: string): Promise<ProblemError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${status} problem`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ProblemError, `not a ProblemError: ${String(error)}`);
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  assert.equal(error.problem.status, status);
  return error;
}

test("submits a PDF, follows its events to succeeded and reads its pages and chunks", async () => {
  const accepted = await client.submit(new Blob([pdf], { type: "application/pdf" }), {
    filename: "typescript.pdf",
    chunkSize: 400,
    chunkOverlap: 40,
  });
  assert.equal(accepted.state, "queued");
  const seen: Task[] = [];
  const task = await client.wait(accepted.task_id, { onProgress: (update) => seen.push(update) });
  assert.equal(task.state, "succeeded");
  assert.ok(seen.length >= 1);
  const done = seen.map((update) => update.progress.pages_done);
  assert.deepEqual(done, [...done].sort((a, b) => a - b), "pages_done only grows");
  const result = await client.result(accepted.task_id);
  assert.equal(result.document.filename, "typescript.pdf");
  assert.deepEqual(
    result.pages.map((page) => page.number),
    [1, 2, 3],
  );
  assert.ok(result.pages[0]!.text.startsWith("Page 1 begins."));
  assert.ok(result.chunks.length >= 3);
  // The generated client reaches every operation, typed: the same status through it.
  const { data } = await client.api.GET("/v1/tasks/{task_id}", {
    params: { path: { task_id: accepted.task_id } },
  });
  assert.equal(data?.state, "succeeded");
});

test("with waitS a quick document comes back finished in the same answer", async () => {
  const answer = await client.submit(pdf, { filename: "quick.pdf", waitS: 30 });
  assert.ok(isFinished(answer), "the answer is the finished task");
  assert.equal(answer.state, "succeeded");
  assert.equal(answer.progress.pages_done, 3);
});

test("a short-lived task's result can be deleted, and then it is gone", async () => {
  const answer = await client.submit(pdf, { filename: "brief.pdf", ttlS: 900, chunkSize: 420, waitS: 30 });
  assert.ok(isFinished(answer));
  const expiresInS = (Date.parse(answer.expires_at!) - Date.now()) / 1000;
  assert.ok(expiresInS > 800 && expiresInS <= 900, `expires in ${expiresInS} s`);
  const deleted = await client.deleteResult(answer.task_id);
  assert.ok(deleted.result_deleted_at);
  await expectProblem(client.result(answer.task_id), 410, "result_deleted");
});

test("a wrong key is a 401 problem", async () => {
  const stranger = new DocqueueClient({ baseUrl, apiKey: "dq_not-a-key" });
  await expectProblem(stranger.get("0".repeat(32)), 401, "unauthorized");
});

test("an unknown task is a 404 problem", async () => {
  await expectProblem(client.get("0".repeat(32)), 404, "task_not_found");
});

test("an upload over the limit is a 413 problem", async () => {
  const big = new Uint8Array(maxUploadBytes + 1024);
  big.set(pdf.subarray(0, 1024));
  const error = await expectProblem(client.submit(big, { filename: "big.pdf" }), 413, "payload_too_large");
  assert.ok(error.message.includes("413"));
});

test("wait falls back to polling when the event stream cannot be used", async () => {
  const polling = new DocqueueClient({ baseUrl, apiKey, fetch: noStreams });
  const accepted = await polling.submit(pdf, { filename: "polled.pdf", chunkSize: 300 });
  const task = await polling.wait(accepted.task_id, { pollIntervalMs: 100, maxStreamFailures: 2 });
  assert.equal(task.state, "succeeded");
});

test("events resume after Last-Event-ID", async () => {
  const accepted = await client.submit(pdf, { filename: "resume.pdf", chunkSize: 350 });
  await client.wait(accepted.task_id);
  // From before the first entry ("0-0"): every change the task went through, in order.
  const all = [];
  for await (const event of client.events(accepted.task_id, { lastEventId: "0-0" })) all.push(event);
  assert.ok(all.length >= 2, `queued, running, ..., succeeded (${all.length} events)`);
  assert.equal(all.at(-1)!.task.state, "succeeded");
  const rest = [];
  for await (const event of client.events(accepted.task_id, { lastEventId: all[0]!.id })) rest.push(event);
  assert.deepEqual(
    rest.map((event) => event.id),
    all.slice(1).map((event) => event.id),
  );
  await expectProblem(client.events(accepted.task_id, { lastEventId: "not-an-id" }).next(), 400, "invalid_last_event_id");
});

test("a real webhook's signature verifies, and a tampered one does not", async () => {
  const received = new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve) => {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.writeHead(204).end();
        server.close();
        resolve({ headers: request.headers, body: Buffer.concat(chunks) });
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      void client
        .submit(pdf, { filename: "hooked.pdf", chunkSize: 450, callbackUrl: `http://127.0.0.1:${port}/hook` })
        .catch((error: unknown) => {
          server.close();
          throw error;
        });
    });
  });
  const { headers, body } = await received;
  assert.equal(await verifyWebhook(secret, headers, body), true);
  const event = JSON.parse(body.toString("utf8")) as { type: string; task: { filename: string } };
  assert.equal(event.type, "task.succeeded");
  assert.equal(event.task.filename, "hooked.pdf");
  assert.equal(headers["docqueue-event-type"], "task.succeeded");
  // A changed body, another secret, a forged or stale signature: all refused.
  const tampered = Buffer.from(body.toString("utf8").replace("hooked.pdf", "hacked.pdf"));
  assert.equal(await verifyWebhook(secret, headers, tampered), false);
  assert.equal(await verifyWebhook(`${secret}x`, headers, body), false);
  const signature = String(headers["docqueue-signature"]);
  const forged = signature.replace(/v1=([0-9a-f])/, (_, digit: string) => `v1=${digit === "0" ? "1" : "0"}`);
  assert.equal(await verifyWebhook(secret, { "Docqueue-Signature": forged }, body), false);
  const stamp = Number(/t=(\d+)/.exec(signature)![1]);
  assert.equal(await verifyWebhook(secret, headers, body, { now: stamp + 301 }), false);
  assert.equal(await verifyWebhook(secret, new Headers({ "Docqueue-Signature": signature }), body), true);
});

test("submits a batch of files, follows it to its end and pages through its members", async () => {
  const note = new TextEncoder().encode("A short note sent in a batch from TypeScript.\n");
  const accepted = await client.submitBatch(
    [
      { data: pdf, filename: "batch-report.pdf" },
      new File([note], "batch-note.txt", { type: "text/plain" }),
      { data: new Uint8Array(), filename: "batch-empty.pdf" },
    ],
    { chunkSize: 480 },
  );
  assert.equal(accepted.total, 3);
  assert.deepEqual(
    accepted.members.map((member) => member.filename),
    ["batch-report.pdf", "batch-note.txt", "batch-empty.pdf"],
  );
  const seen: string[] = [];
  const ended = await client.waitBatch(accepted.batch_id, { onProgress: (batch) => seen.push(batch.state) });
  assert.equal(ended.state, "completed_with_errors"); // the empty file failed at once
  assert.equal(seen.at(-1), "completed_with_errors");
  assert.equal(ended.counts.succeeded, 2);
  assert.equal(ended.counts.failed, 1);
  assert.equal(ended.progress.pages_done, ended.progress.pages_total);

  const first = await client.getBatch(accepted.batch_id, { limit: 2 });
  assert.equal(first.members!.items.length, 2);
  assert.ok(first.members!.next_cursor);
  const rest = await client.getBatch(accepted.batch_id, { limit: 2, cursor: first.members!.next_cursor! });
  const members = [...first.members!.items, ...rest.members!.items];
  assert.equal(rest.members!.next_cursor, null);
  assert.deepEqual(
    members.map((member) => member.task_id),
    accepted.members.map((member) => member.task_id),
  );
  assert.equal(members[2]!.error?.code, "empty_document");
  const listed = await client.listBatches({ limit: 50 });
  assert.ok(listed.items.some((batch) => batch.batch_id === accepted.batch_id));
});

test("a batch's events resume after Last-Event-ID; an unknown batch is a 404 problem", async () => {
  const accepted = await client.submitBatch([{ data: pdf, filename: "batch-resume.pdf" }], { chunkSize: 470 });
  await client.waitBatch(accepted.batch_id);
  const all = [];
  for await (const event of client.batchEvents(accepted.batch_id, { lastEventId: "0-0" })) all.push(event);
  assert.ok(all.length >= 2, `${all.length} events`);
  assert.equal(all.at(-1)!.batch.state, "succeeded");
  assert.equal(all.at(-1)!.member?.task_id, accepted.members[0]!.task_id);
  const rest = [];
  for await (const event of client.batchEvents(accepted.batch_id, { lastEventId: all[0]!.id })) rest.push(event);
  assert.deepEqual(
    rest.map((event) => event.id),
    all.slice(1).map((event) => event.id),
  );
  await expectProblem(client.getBatch("0".repeat(32)), 404, "batch_not_found");
  await expectProblem(client.cancelBatch("0".repeat(32)), 404, "batch_not_found");
});

test("cancelling a batch leaves no member unfinished, and waitBatch polls when streams are blocked", async () => {
  const polling = new DocqueueClient({ baseUrl, apiKey, fetch: noStreams });
  const accepted = await polling.submitBatch(
    [
      { data: pdf, filename: "cancel-1.pdf" },
      { data: new TextEncoder().encode("to be cancelled\n"), filename: "cancel-2.txt" },
    ],
    { chunkSize: 460 },
  );
  const cancelled = await polling.cancelBatch(accepted.batch_id);
  assert.equal(cancelled.batch_id, accepted.batch_id);
  const ended = await polling.waitBatch(accepted.batch_id, { pollIntervalMs: 100, maxStreamFailures: 1 });
  assert.notEqual(ended.state, "running");
  const outcomes = (ended.counts.succeeded ?? 0) + (ended.counts.cancelled ?? 0);
  assert.equal(outcomes, 2, JSON.stringify(ended.counts));
});
