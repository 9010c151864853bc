"""``lower_priority``: every thread of the process, and the threads started later."""

import subprocess
import sys

from serve_app.paths import PROJECT_ROOT

SCRIPT = """
import os, threading, time
from serve_app.priority import lower_priority

def nice_of(tid):
    return int(open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()[16])

before = threading.Thread(target=time.sleep, args=(2,), daemon=True)
before.start()
target = min(19, os.nice(0) + 3)
changed = lower_priority(target)
later_nice = []
def record():
    later_nice.append(nice_of(threading.get_native_id()))
after = threading.Thread(target=record)
after.start(); after.join()
print(changed, target, nice_of(threading.get_native_id()), nice_of(before.native_id), later_nice[0])
print(lower_priority(target - 1))  # never lowers
"""


def test_every_thread_and_later_ones_run_at_the_lower_priority():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    changed, target, main, before, later = (int(v) for v in out[0].split())
    assert changed >= 2 and main == before == later == target
    assert out[1] == "0"
