"""Real-commit benchmark: replays small commits of popular pure-Python libraries as pull
requests (head = the commit without its author's tests), runs ``tandem run`` on each, and
measures independently, with coverage.py, how much of the changed code the existing tests, the
author's tests and Tandem's kept tests cover, and how many of those tests pin the change.

    python -m bench.realprs --work /tmp/realprs [--case NAME] [--json F] [--mirrors DIR]
"""
