// A short string a changed line's regular expression matches, as an input to edit an argument
// with (issue 20): `/^\/{2,}/` gives "//", `/\/(?=[A-Za-z]:)/` gives "/A:". A changed regex is
// the edge of the change, as a changed comparison's number is. The smallest match is wanted,
// deterministic, from the regex's own text, where a random generator (randexp) would need an
// install in the sandbox for a few lines' work. What it cannot read (a backreference, a class
// it cannot pick from) gives no sample rather than a wrong one.
// Used by export_scan.cjs: `require("./regex_samples.cjs")`.
"use strict";

const MAX_SAMPLE = 12;
const ESCAPES = { d: "0", w: "a", s: " ", D: "a", W: "-", S: "a", n: "\n", t: "\t", r: "\r" };

// [one character the class holds, the index after it] or null
function fromClass(source, i) {
  let j = i + 1;
  if (source[j] === "^") return null; // a negated class: any pick may be in it
  let first = null;
  for (; j < source.length && source[j] !== "]"; j++) {
    let c = source[j];
    if (c === "\\") {
      j++;
      c = ESCAPES[source[j]] !== undefined ? ESCAPES[source[j]] : source[j];
    }
    if (first === null) first = c;
  }
  return j < source.length && first !== null ? [first, j + 1] : null;
}

// The index after the group that opens at i
function groupEnd(source, i) {
  let depth = 0;
  for (let j = i; j < source.length; j++) {
    if (source[j] === "\\") j++;
    else if (source[j] === "[") while (j < source.length && source[j] !== "]") j += source[j] === "\\" ? 2 : 1;
    else if (source[j] === "(") depth++;
    else if (source[j] === ")" && --depth === 0) return j + 1;
  }
  return -1;
}

// A string the pattern (its first alternative at each level) matches, or null
function sample(source) {
  let out = "";
  let last = ""; // the last atom, for a quantifier
  for (let i = 0; i < source.length; ) {
    const c = source[i];
    let atom = null;
    if (c === "^" || c === "$") {
      i++;
      continue;
    } else if (c === "|") {
      break; // the first alternative is enough
    } else if (c === "\\") {
      const e = source[i + 1];
      if (e === "b" || e === "B") {
        i += 2;
        continue;
      }
      if (/[1-9kpPux]/.test(e)) return null;
      atom = ESCAPES[e] !== undefined ? ESCAPES[e] : e;
      i += 2;
    } else if (c === "[") {
      const found = fromClass(source, i);
      if (!found) return null;
      [atom, i] = found;
    } else if (c === "(") {
      const end = groupEnd(source, i);
      if (end < 0) return null;
      const inner = source.slice(i + 1, end - 1);
      const look = /^\?<?[=!]/.exec(inner);
      // a lookahead that must match: its text is part of the input; a negative one is left out
      if (look && look[0].endsWith("!")) atom = "";
      else if (look) atom = look[0].includes("<") ? "" : sample(inner.slice(look[0].length));
      else atom = sample(inner.replace(/^\?(?::|<[^>]+>)/, ""));
      if (atom === null) return null;
      i = end;
    } else if (c === "." ) {
      atom = "a";
      i++;
    } else if (c === "*" || c === "?") {
      out = out.slice(0, out.length - last.length); // none of the atom
      last = "";
      i += source[i + 1] === "?" ? 2 : 1;
      continue;
    } else if (c === "+") {
      i += source[i + 1] === "?" ? 2 : 1;
      continue;
    } else if (c === "{") {
      const m = /^\{(\d+)(,\d*)?\}\??/.exec(source.slice(i));
      if (!m) return null;
      out = out.slice(0, out.length - last.length) + last.repeat(Number(m[1]));
      i += m[0].length;
      continue;
    } else {
      atom = c;
      i++;
    }
    out += atom;
    last = atom;
  }
  return out.length <= MAX_SAMPLE ? out : null;
}

// The sample of a regex literal's text (`/…/flags`), as a JS string literal, or null
function regexSample(text) {
  const end = text.lastIndexOf("/");
  const found = end > 0 ? sample(text.slice(1, end)) : null;
  return found ? JSON.stringify(found) : null;
}

module.exports = { regexSample, sample };
