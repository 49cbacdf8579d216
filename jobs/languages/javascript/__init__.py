"""The JavaScript/TypeScript backend's own parts (issue 20), standalone until the language seam
(``jobs/languages``: a protocol and a registry) exists to plug them into:

- :mod:`.detect`: which changed files are JS/TS sources, their package, its test runner, its
  package manager and the install command (pure: file texts in, values out);
- :mod:`.toolchain`: where ``node`` and npm are, and whether Node is new enough;
- :mod:`.coverage`: istanbul's ``coverage-final.json`` as changed-line sets (pure);
- :mod:`.vitest`: one vitest run of a package's suite with that coverage.
"""
