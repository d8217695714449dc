"""A loopback OpenAI-compatible model for the scale benchmarks: it waits
LATENCY seconds (argv[1]) before each answer, asks for 10 `bash` calls
(`echo step N`), then `submit`. Prints its port, then serves."""
import json, sys, time, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
latency = float(sys.argv[1])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.reply({"object": "list", "data": [{"id": "slow", "object": "model"}]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        turns = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        time.sleep(latency)
        if turns < 10:
            call = {"name": "bash", "arguments": json.dumps({"command": f"echo step {turns}"})}
        else:
            call = {"name": "submit", "arguments": json.dumps({"answer": "done"})}
        self.reply({"id": "x", "object": "chat.completion", "model": "slow",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": None,
                "tool_calls": [{"id": f"call_{turns}", "type": "function", "function": call}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 1024
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
