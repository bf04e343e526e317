// Reads a Compose file the way Compose does and prints what each service would be started with:
//   node resolve.mjs docker-compose.yml  ->  JSON {service: {argv, environment, hostname, healthcheck}}
// 1. validates it against the Compose specification's JSON schema (the one dclint ships);
// 2. resolves YAML anchors and merge keys;
// 3. interpolates variables from the environment as the Compose specification defines it
//    ($$ is a literal $, ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
//    ${VAR:+alternative}); a required variable that is missing fails, as in Compose;
// 4. splits a string command into arguments like Compose (shell-style words, no expansion: a $
//    left in a word reaches the program as it is, since no shell runs).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { parse } from "yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const file = process.argv[2];
const doc = parse(fs.readFileSync(file, "utf8"), { merge: true });
const schema = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve("dclint/package.json")), "schemas", "compose.schema.json"), "utf8"));
// the schema names draft-07 by its https address, which Ajv knows as http: it is draft-07 all the same
delete schema.$schema;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
if (!ajv.validate(schema, doc)) {
  console.error(`${file}: not valid against the Compose specification:`);
  for (const e of ajv.errors) console.error(`  ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  process.exit(1);
}

function interpolate(text, where) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "$") { out += c; continue; }
    const next = text[i + 1];
    if (next === "$") { out += "$"; i++; continue; }
    let name, op = null, arg = "";
    if (next === "{") {
      let depth = 1, j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === "{") depth++;
        else if (text[j] === "}") depth--;
      }
      const body = text.slice(i + 2, j - 1);
      const m = body.match(/^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/);
      if (!m) throw new Error(`${where}: invalid interpolation \${${body}}`);
      [, name, op, arg] = m;
      i = j - 1;
    } else {
      const m = text.slice(i + 1).match(/^[A-Za-z_][A-Za-z0-9_]*/);
      if (!m) { out += c; continue; }
      name = m[0];
      i += name.length;
    }
    const value = process.env[name];
    const set = value !== undefined, nonEmpty = set && value !== "";
    if (!op) out += set ? value : "";
    else if (op === ":-") out += nonEmpty ? value : interpolate(arg ?? "", where);
    else if (op === "-") out += set ? value : interpolate(arg ?? "", where);
    else if (op === ":?" || op === "?") {
      if (op === ":?" ? !nonEmpty : !set) throw new Error(`${where}: required variable ${name} is missing a value: ${interpolate(arg ?? "", where)}`);
      out += value;
    } else if (op === ":+") out += nonEmpty ? interpolate(arg ?? "", where) : "";
  }
  return out;
}

function walk(node, where) {
  if (typeof node === "string") return interpolate(node, where);
  if (Array.isArray(node)) return node.map((v, i) => walk(v, `${where}[${i}]`));
  if (node && typeof node === "object") {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, `${where}.${k}`);
    return out;
  }
  return node;
}

// shell-style words: quotes group and are removed, backslash escapes; nothing is expanded
function words(command) {
  const out = [];
  let word = null, quote = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') { quote = c; word ??= ""; }
    else if (c === "\\" && i + 1 < command.length) { word = (word ?? "") + command[++i]; }
    else if (/\s/.test(c)) { if (word !== null) { out.push(word); word = null; } }
    else word = (word ?? "") + c;
  }
  if (quote) throw new Error(`unterminated quote in: ${command}`);
  if (word !== null) out.push(word);
  return out;
}

let resolved;
try {
  resolved = walk(doc, "");
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const services = {};
for (const [name, s] of Object.entries(resolved.services)) {
  const env = Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => { const k = e.indexOf("="); return [e.slice(0, k), e.slice(k + 1)]; }))
    : (s.environment ?? {});
  services[name] = {
    image: s.image ?? null,
    argv: s.command === undefined ? null : (Array.isArray(s.command) ? s.command : words(s.command)),
    environment: env,
    hostname: s.hostname ?? name,
    healthcheck: s.healthcheck?.test ?? null,
    ports: s.ports ?? [],
  };
}
console.log(JSON.stringify(services, null, 2));
