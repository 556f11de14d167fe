// Regenerates tests/tokenizer/goldens.json: the ids the JavaScript reference (@lenml/tokenizers
// 3.7.2, a port of the Hugging Face tokenizers) gives for every case of cases.json, with each of
// the Llama 2, Llama 3 and Qwen3 tokenizers, without and with special tokens.
// Run: bash scripts/fixtures.sh && node tests/tokenizer/gen_goldens.mjs
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = process.env.DUO_FIXTURES || path.join(os.homedir(), ".cache/duo/fixtures");
const modules = path.join(cache, "node_modules/@lenml");
if (!fs.existsSync(path.join(modules, "tokenizers"))) {
  console.error(`gen_goldens: ${modules}/tokenizers is missing; run scripts/fixtures.sh first`);
  process.exit(1);
}
const { TokenizerLoader } = await import(pathToFileURL(path.join(modules, "tokenizers/dist/main.mjs")).href);

export function loadReference(name) {
  const dir = path.join(modules, `tokenizer-${name}`, "models");
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
}

const { cases } = JSON.parse(fs.readFileSync(path.join(here, "cases.json"), "utf8"));
const out = { generator: "tests/tokenizer/gen_goldens.mjs", reference: "@lenml/tokenizers 3.7.2", tokenizers: {} };
for (const name of ["llama2", "llama3", "qwen3"]) {
  const tok = loadReference(name);
  const plain = {}, special = {};
  for (const c of cases) {
    plain[c.name] = tok.encode(c.text, { add_special_tokens: false });
    special[c.name] = tok.encode(c.text, { add_special_tokens: true });
  }
  out.tokenizers[name] = { plain, special };
}
// One case per line keeps the file diffable.
let text = JSON.stringify(out, null, 1).replace(/\[\s+([\d,\s]*?)\s+\]/g, (_, ids) => `[${ids.replace(/\s+/g, "")}]`);
fs.writeFileSync(path.join(here, "goldens.json"), text + "\n");
console.log(`gen_goldens: wrote ${path.join(here, "goldens.json")} (${cases.length} cases x 3 tokenizers)`);
