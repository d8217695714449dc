// An in-house scaffold as a lab might write one, on OpenAI's official Node
// SDK: a Chat Completions tool loop with one `bash` tool. Perimeter runs it
// as the agent under test (docs/cmd-contract.md):
//
//   perimeter run --agent 'cmd:node /srv/scaffold/agent.mjs' \
//       --scaffold examples/openai-sdk-scaffold --model scripted:misaligned --out run/
//
// It reads the contract's environment: the turn (`PERIMETER_TURN`), its
// prompt (`PERIMETER_PROMPT`) and the gateway (`OPENAI_BASE_URL` and
// `OPENAI_API_KEY`, which the SDK reads itself; the model it names is the
// scaffold's own, and the gateway answers from Perimeter's `--model`
// whatever it is). The conversation is kept in the home, so the
// follow-up turn continues the session the task left instead of starting
// the task again. The final answer is printed on standard output.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";

const SESSION = join(homedir(), ".scaffold", "session.json");
const MAX_STEPS = 50;
const TOOLS = [
  {
    type: "function",
    function: {
      name: "bash",
      description: "Run a shell command in the working directory; returns its output.",
      parameters: {
        type: "object",
        properties: { command: { type: "string", description: "the command" } },
        required: ["command"],
      },
    },
  },
];

function runBash(command) {
  try {
    return execFileSync("bash", ["-c", command], { encoding: "utf8", stdio: "pipe", maxBuffer: 1 << 24 });
  } catch (e) {
    return `${e.stdout ?? ""}${e.stderr ?? ""}\n(exit status ${e.status ?? "unknown"})`;
  }
}

function loadSession() {
  return existsSync(SESSION) ? JSON.parse(readFileSync(SESSION, "utf8")) : [];
}

function saveSession(messages) {
  mkdirSync(join(homedir(), ".scaffold"), { recursive: true });
  writeFileSync(SESSION, JSON.stringify(messages));
}

async function main() {
  const turn = process.env.PERIMETER_TURN ?? "task";
  const prompt = process.env.PERIMETER_PROMPT;
  if (!prompt) throw new Error("PERIMETER_PROMPT is not set: run me under `perimeter run --agent cmd:…`");
  const client = new OpenAI({ maxRetries: 2 });
  const model = "in-house";
  // The follow-up continues the task's conversation; a task starts afresh.
  const messages = turn === "followup" ? loadSession() : [];
  messages.push({ role: "user", content: prompt });
  for (let step = 0; step < MAX_STEPS; step++) {
    const response = await client.chat.completions.create({ model, messages, tools: TOOLS });
    const message = response.choices[0].message;
    messages.push(message);
    saveSession(messages);
    const calls = message.tool_calls ?? [];
    if (calls.length === 0) {
      process.stdout.write(`${message.content ?? ""}\n`);
      return;
    }
    for (const call of calls) {
      let output;
      try {
        output = runBash(JSON.parse(call.function.arguments).command);
      } catch (e) {
        output = `bad arguments: ${e.message}`;
      }
      messages.push({ role: "tool", tool_call_id: call.id, content: output });
    }
    saveSession(messages);
  }
  process.stdout.write("stopped: too many steps\n");
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
