// The JavaScript reference's side of tests/bench/tokenizer_bench: loads @lenml/tokenizer-<name>'s
// tokenizer.json with @lenml/tokenizers from the fixture cache, encodes a text file (no special
// tokens) once cold and then --runs more times, and prints one JSON line with the times.
//   node js_encode_bench.mjs --name llama3 --text FILE [--runs 5] [--ids-out FILE]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const cache = process.env.DUO_FIXTURES || path.join(os.homedir(), ".cache/duo/fixtures");
const modules = path.join(cache, "node_modules/@lenml");
const { TokenizerLoader } = await import(pathToFileURL(path.join(modules, "tokenizers/dist/main.mjs")).href);
const dir = path.join(modules, `tokenizer-${args.name}`, "models");
const text = fs.readFileSync(args.text, "utf8");
const runs = Number(args.runs || 5);

const t0 = performance.now();
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});
const load_ms = performance.now() - t0;
let t = performance.now();
const ids = tok.encode(text, { add_special_tokens: false });
const first_ms = performance.now() - t;
const times = [];
for (let r = 0; r < runs; ++r) {
  t = performance.now();
  tok.encode(text, { add_special_tokens: false });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
if (args["ids-out"]) fs.writeFileSync(args["ids-out"], ids.join(" "));
console.log(JSON.stringify({ load_ms, first_ms, median_ms: times[Math.floor(times.length / 2)], n_ids: ids.length }));
