import re, sys
text = open("deploy/agents.yaml").read()
block = text.split("summarizer:")[1].split("research_assistant:")[0]
sys.exit(0 if re.search(r"max_tokens:\s*8192", block) else 1)
