#!/usr/bin/env python3
"""A kitsu-actions `script` action in Python's standard library: comments each selected task in Kitsu.

The catalogue entry (the bot's token is given only because `botToken: true` asks for it):

    - id: note-tasks
      name: Leave a note
      kind: script
      options:
        command: /usr/bin/python3
        args: [/studio/actions/kitsu_comment.py]
        botToken: true
        output: json

kitsu-actions writes the request and what Kitsu knows of each task as JSON on standard input; this prints
progress on standard error and its result, as JSON, on standard output.
"""

import json
import os
import sys
import urllib.request

KITSU_URL = os.environ["KITSU_URL"].rstrip("/")
TOKEN = os.environ["KITSU_BOT_TOKEN"]


def zou(method: str, route: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{KITSU_URL}/{route}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


selection = json.load(sys.stdin)
tasks = selection["tasks"]
for index, task in enumerate(tasks):
    current = zou("GET", f"data/tasks/{task['taskId']}")
    # The task's own status: a comment that changes nothing but the discussion.
    zou(
        "POST",
        f"actions/tasks/{task['taskId']}/comment",
        {"task_status_id": current["task_status_id"], "comment": f"Checked by {selection['action']['name']}"},
    )
    print(f"progress: {int(100 * (index + 1) / len(tasks))} commented {task['label']}", file=sys.stderr, flush=True)

print(json.dumps({"summary": f"{len(tasks)} tasks commented in Kitsu", "links": []}))
