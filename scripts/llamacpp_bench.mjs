// llama.cpp's side of scripts/bench-llamacpp.sh, through the npm package node-llama-cpp (its
// prebuilt CPU build): loads a GGUF, prefills `context` random token ids in one sequence, then
// decodes `decode` tokens greedily, and prints one JSON line: prefill seconds, decode ms/token
// (median over the steps), peak resident memory of this process, versions.
//
//   node scripts/llamacpp_bench.mjs MODEL.gguf CONTEXT THREADS DECODE VOCAB $CACHE/node_modules
//
// KV cache: node-llama-cpp's default (f16); flash attention on, as in the table it feeds.
import path from "node:path";

const [modelPath, contextArg, threadsArg, decodeArg, vocabArg, moduleDir] = process.argv.slice(2);
if (!modelPath || !contextArg || !threadsArg || !decodeArg || !vocabArg || !moduleDir) {
  console.error("usage: node llamacpp_bench.mjs MODEL.gguf CONTEXT THREADS DECODE VOCAB NODE_MODULES_DIR");
  process.exit(2);
}
const context = Number(contextArg), threads = Number(threadsArg), decode = Number(decodeArg);
import fs from "node:fs";
import {pathToFileURL} from "node:url";
const pkgDir = path.join(moduleDir, "node-llama-cpp");
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const main = pkg.exports?.["."]?.import ?? pkg.exports?.["."]?.default ?? pkg.main ?? "dist/index.js";
const {getLlama} = await import(pathToFileURL(path.join(pkgDir, typeof main === "string" ? main : main.default)).href);

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const ctx = await model.createContext({
  contextSize: context + decode + 8,
  batchSize: 512,
  threads,
  flashAttention: true,
  sequences: 1,
});
const seq = ctx.getSequence();
// Random ids past the special tokens (a fixed LCG: the same prompt every run).
const vocab = Number(vocabArg);
let state = 12345;
const ids = [];
for (let i = 0; i < context; ++i) {
  state = (state * 1103515245 + 12345) % 2147483648;
  ids.push(3 + (state % (vocab - 3)));
}

const t0 = performance.now();
let last = t0, prefillMs = 0, n = 0;
const steps = [];
for await (const token of seq.evaluate(ids, {temperature: 0})) {
  const now = performance.now();
  if (n === 0) prefillMs = now - t0; else steps.push(now - last);
  last = now;
  ++n;
  if (n > decode) break;
}
steps.sort((a, b) => a - b);
const median = steps.length ? steps[Math.floor(steps.length / 2)] : 0;
console.log(JSON.stringify({
  engine: "llama.cpp",
  node_llama_cpp: pkg.version,
  llama_cpp_release: llama.llamaCppRelease?.release ?? null,
  context,
  threads,
  decode_steps: steps.length,
  prefill_seconds: prefillMs / 1000,
  decode_ms_per_token: median,
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  kv_cache: "f16 (default)",
  flash_attention: true,
}));
await ctx.dispose();
await model.dispose();
