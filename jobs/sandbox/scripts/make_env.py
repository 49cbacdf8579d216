"""Runs inside the sandbox, by the sandbox's own python before any project environment exists
(``python -I -c TEXT ENV VIEW_DIR TOOLS_PTH TOOLS_ENV``; -I: the checkout's files cannot shadow
venv or site): makes the venv ENV, adds the tools' site-packages after its own with the .pth
file TOOLS_PTH (only ENV/VIEW_DIR unless TOOLS_ENV=all), and makes sure it has a pip.
The names come as arguments: a ``-c`` script imports nothing of its own.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv

env, view_dir, tools_pth, tools_env = sys.argv[1:5]
venv.EnvBuilder(symlinks=True, with_pip=False).create(env)
python = os.path.join(env, "bin", "python")
purelib = subprocess.run(
    [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
    check=True,
    capture_output=True,
    text=True,
).stdout.strip()
tools = [d for d in site.getsitepackages() if os.path.isdir(d)]
view = os.path.join(env, view_dir)
with open(os.path.join(purelib, tools_pth), "w") as pth:
    pth.write(
        "import os, site; [site.addsitedir(d) for d in ("
        + repr(tools)
        + " if os.environ.get("
        + repr(tools_env)
        + ") == 'all' else ["
        + repr(view)
        + "])]\n"
    )
every = {**os.environ, tools_env: "all"}
if subprocess.run([python, "-I", "-c", "import pip"], capture_output=True, env=every).returncode:
    subprocess.run([python, "-I", "-m", "ensurepip", "--default-pip"], check=True)
