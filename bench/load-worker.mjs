// The load generator's worker (plain JavaScript: worker threads do not go through tsx on Node 20).
// A closed loop: N keep-alive connections, each sending its next request as soon as the
// previous answer arrived, for a fixed time. Posts back { requests, errors, seconds, perSecond }.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const options = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
const target = new URL(options.url);
// One body, or a mix sent in turn (bodies).
const bodies = (options.bodies ?? [options.body]).map((text) => Buffer.from(text));
let sent = 0;
let requests = 0;
let errors = 0;
const started = performance.now();
const deadline = started + options.durationMs;

const one = () =>
  new Promise((resolve) => {
    const body = bodies[sent++ % bodies.length];
    const headers = { ...options.headers, 'content-length': String(body.length) };
    const req = request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: options.method, headers },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === options.expectStatus) requests += 1;
          else errors += 1;
          resolve();
        });
      },
    );
    req.on('error', () => {
      errors += 1;
      resolve();
    });
    req.end(body);
  });

const loop = async () => {
  while (performance.now() < deadline) await one();
};
await Promise.all(Array.from({ length: options.connections }, loop));
const seconds = (performance.now() - started) / 1000;
agent.destroy();
parentPort.postMessage({ requests, errors, seconds, perSecond: requests / seconds });
