#!/usr/bin/env python3
"""Inspect logs for the scan's development corpus, written by inspect_ai itself.

Reads a spec (JSON, written by bench/scan-corpus.py): for each policy of
suites/scan-dev, its task prompt, its steps, the output each step gave when
Claude Code ran it in the sandbox, and its final message. Writes one `.eval`
log per policy and tool style to OUT/<style>/, each holding one sample in
which a scripted model (`mockllm`) makes the policy's calls through tools of
the shapes Inspect agents use, and the tools answer with the recorded
outputs (nothing is executed here):

    bash-cmd       `bash(cmd)`, Inspect's own bash tool
    bash-command   `bash(command)`, the shape of many task-defined tools
    both           `python(code)` for a step that runs Python code, and
                   `text_editor(command="create", path, file_text)` for a write

Prints the files written, one per line, as `<absolute path>\t<scenario>/<policy>`.

Usage: python -m pip install inspect_ai==0.3.285 && bench/scan-corpus-inspect.py SPEC OUT
"""

import json
import os
import shlex
import sys

from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.solver import generate, use_tools
from inspect_ai.tool import tool

STYLES = ("bash-cmd", "bash-command")


def python_code(command):
    """The code of `python3 -c CODE` or `python3 - <<'EOF' ... EOF`, if that is
    all the step is."""
    if command.startswith("python3 - <<") or command.startswith("python - <<"):
        head, _, rest = command.partition("\n")
        tag = head.rsplit("<<", 1)[1].strip().strip("'\"")
        body, _, tail = rest.rpartition("\n" + tag)
        if tail.strip() == "" and body:
            return body
        return None
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if len(argv) == 3 and argv[0] in ("python3", "python") and argv[1] == "-c":
        return argv[2]
    return None


def calls(policy, style):
    """(tool, arguments, say) for each step."""
    out = []
    for step in policy["steps"]:
        say = step.get("say")
        if "write" in step:
            w = step["write"]
            out.append(("text_editor", {"command": "create", "path": w["path"], "file_text": w["content"]}, say))
            continue
        command = step["shell"]
        code = python_code(command)
        if code is not None:
            out.append(("python", {"code": code}, say))
        elif style == "bash-cmd":
            out.append(("bash", {"cmd": command}, say))
        else:
            out.append(("bash", {"command": command}, say))
    return out


def task(policy, style):
    planned = calls(policy, style)
    outputs = list(policy["outputs"])

    def answer(n):
        return outputs[n] if n < len(outputs) else ""

    state = {"n": 0}

    def take():
        n = state["n"]
        state["n"] += 1
        return answer(n)

    if style == "bash-cmd":
        @tool(name="bash")
        def shell():
            async def execute(cmd: str) -> str:
                """Run a bash command.

                Args:
                  cmd: The command to run.
                """
                return take()
            return execute
    else:
        @tool(name="bash")
        def shell():
            async def execute(command: str) -> str:
                """Run a bash command.

                Args:
                  command: The command to run.
                """
                return take()
            return execute

    @tool
    def python():
        async def execute(code: str) -> str:
            """Run Python code.

            Args:
              code: The code to run.
            """
            return take()
        return execute

    @tool
    def text_editor():
        async def execute(command: str, path: str, file_text: str | None = None) -> str:
            """Create or view a file.

            Args:
              command: `create` or `view`.
              path: The file's path.
              file_text: The content, for `create`.
            """
            take()
            return f"File created successfully at: {path}"
        return execute

    def model_turn(messages, tools, tool_choice, config):
        done = sum(1 for m in messages if m.role == "tool")
        if done < len(planned):
            name, args, say = planned[done]
            output = ModelOutput.for_tool_call("mockllm/model", name, args, content=say or "")
        else:
            output = ModelOutput.from_content("mockllm/model", policy["final"])
        # Usage given, so that mockllm does not count tokens with tiktoken
        # (whose encodings would be downloaded).
        chars = sum(len(str(m.content)) for m in messages)
        output.usage = ModelUsage(input_tokens=chars // 4, output_tokens=len(output.completion) // 4 + 8,
                                  total_tokens=chars // 4 + len(output.completion) // 4 + 8)
        return output

    model = get_model("mockllm/model", custom_outputs=model_turn)
    return Task(
        name=f"{policy['scenario']}--{policy['policy']}",
        dataset=[Sample(id=policy["policy"], input=policy["prompt"])],
        solver=[use_tools([shell(), python(), text_editor()]), generate(tool_calls="loop")],
        model=model,
        message_limit=4 * len(planned) + 8,
    )


def main():
    spec_path, out = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    for style in STYLES:
        log_dir = os.path.join(out, style)
        tasks = [task(p, style) for p in spec]
        logs = inspect_eval(tasks, log_dir=log_dir, log_format="eval", display="none",
                            max_tasks=8, score=False)
        names = {f"{p['scenario']}--{p['policy']}": p for p in spec}
        for log in logs:
            policy = names[log.eval.task]
            if log.status != "success":
                print(f"{style} {log.eval.task}: {log.status} {log.error}", file=sys.stderr)
                continue
            print(f"{os.path.abspath(log.location)}\t{policy['scenario']}/{policy['policy']}")


if __name__ == "__main__":
    main()
