// Strings a changed line's regular expression matches, as inputs to edit an argument with
// (issue 20): `/^\/{2,}/` gives "//", `/\/(?=[A-Za-z]:)/` gives "/A:". A changed regex is the
// edge of the change, as a changed comparison's number is. regexSample gives the smallest
// match; regexSamples a few more (each alternative, each quantifier stretched), checked against
// the regex itself, those where the regex the change replaced disagrees first. Deterministic,
// from the regex's own text, where a random generator (randexp) would need an install in the
// sandbox for a few lines' work. What it cannot read (a backreference, a class it cannot pick
// from) gives no sample rather than a wrong one. A Unicode property (`\p{Alphabetic}`, `\p{Nd}`)
// stands for a character of it, and a class's quantifier taken twice more than its least takes
// its members in turn (`[\p{Alphabetic}\p{Nd}]+` gives "0a0"): where a change adds a member to
// a class, the string that mixes the old members with the new one is where the two differ.
// Used by export_scan.cjs: `require("./regex_samples.cjs")`.
"use strict";

const MAX_SAMPLE = 12;
const MAX_SAMPLES = 8; // per regex, from regexSamples
const ESCAPES = { d: "0", w: "a", s: " ", D: "a", W: "-", S: "a", n: "\n", t: "\t", r: "\r" };
// the other pick of an escape: a digit where a word character may be one (`\w` takes `0`)
const OTHER_ESCAPES = { ...ESCAPES, d: "9", w: "0", D: "-", S: "0" };
// a character of a Unicode property (`\p{…}`, by its long or short name), and one outside it
// (`\P{…}`); a property not here gives no sample
const LETTER = ["a", "0"];
const PROPERTIES = {
  L: LETTER, Letter: LETTER, Alphabetic: LETTER, Alpha: LETTER,
  Ll: LETTER, Lowercase_Letter: LETTER, Lowercase: LETTER, Lower: LETTER,
  Lu: ["A", "a"], Uppercase_Letter: ["A", "a"], Uppercase: ["A", "a"], Upper: ["A", "a"],
  N: ["0", "a"], Number: ["0", "a"], Nd: ["0", "a"], Decimal_Number: ["0", "a"], digit: ["0", "a"],
  P: [".", "a"], Punctuation: [".", "a"], S: ["$", "a"], Symbol: ["$", "a"],
  Z: [" ", "a"], Zs: [" ", "a"], Separator: [" ", "a"], Space_Separator: [" ", "a"],
  White_Space: [" ", "a"], space: [" ", "a"],
}; // prettier-ignore

// [the character `\p{…}` or `\P{…}` at i stands for, the index after it], or null
function property(source, i) {
  const m = /^\\([pP])\{(?:[A-Za-z_]+=)?([A-Za-z_]+)\}/.exec(source.slice(i));
  const known = m ? PROPERTIES[m[2]] : undefined;
  return known ? [known[m[1] === "p" ? 0 : 1], i + m[0].length] : null;
}

// [one character the class holds (its first, or with pick 1 its last), the index after it,
// its members (one character each, in order)], or null
function fromClass(source, i, pick = 0) {
  let j = i + 1;
  if (source[j] === "^") return null; // a negated class: any pick may be in it
  const members = [];
  while (j < source.length && source[j] !== "]") {
    let c = source[j];
    if (c === "\\" && (source[j + 1] === "p" || source[j + 1] === "P")) {
      const found = property(source, j);
      if (!found) return null;
      [c, j] = found;
      members.push(c);
      continue;
    }
    if (c === "\\") {
      j++;
      const escapes = pick ? OTHER_ESCAPES : ESCAPES;
      c = escapes[source[j]] !== undefined ? escapes[source[j]] : source[j];
    }
    members.push(c);
    j++;
  }
  const chosen = pick ? members[members.length - 1] : members[0];
  return j < source.length && chosen !== undefined ? [chosen, j + 1, members] : null;
}

// `times` characters of a class's members in turn, from the picked end (the members repeat)
function inTurn(members, pick, times) {
  const order = pick ? [...members].reverse() : members;
  let out = "";
  for (let k = 0; k < times; k++) out += order[k % order.length];
  return out;
}

// The pattern's top-level alternatives (outside groups and classes)
function alternatives(source) {
  const out = [];
  let depth = 0;
  let start = 0;
  for (let j = 0; j < source.length; j++) {
    if (source[j] === "\\") j++;
    else if (source[j] === "[") while (j < source.length && source[j] !== "]") j += source[j] === "\\" ? 2 : 1;
    else if (source[j] === "(") depth++;
    else if (source[j] === ")") depth--;
    else if (source[j] === "|" && depth === 0) {
      out.push(source.slice(start, j));
      start = j + 1;
    }
  }
  out.push(source.slice(start));
  return out;
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

// A string the pattern matches, or null: by default its first alternative at each level, each
// quantifier at its least and each class's first character. `options`: `alt`, the top-level
// alternative to take; `pick` 1, a class's last character (`\w` a digit) and a group's last
// alternative; `stretch`, the quantifier (counted in the pattern's order) to take twice more
// than its least.
function sample(source, options = {}) {
  const pick = options.pick || 0;
  const count = options.count || { n: 0 }; // the quantifiers seen, through the groups
  const inner = (text) => sample(text, { pick, stretch: options.stretch, count, alt: pick ? -1 : 0 });
  const parts = alternatives(source);
  const alt = options.alt === undefined ? 0 : options.alt < 0 ? parts.length - 1 : options.alt;
  if (alt >= parts.length) return null;
  source = parts[alt];
  const more = () => count.n++ === options.stretch;
  let out = "";
  let last = ""; // the last atom, for a quantifier
  let members = null; // the last atom's class members, when it was a class
  for (let i = 0; i < source.length; ) {
    const c = source[i];
    let atom = null;
    let held = null;
    if (c === "^" || c === "$") {
      i++;
      continue;
    } else if (c === "\\") {
      const e = source[i + 1];
      if (e === "b" || e === "B") {
        i += 2;
        continue;
      }
      if (e === "p" || e === "P") {
        const found = property(source, i);
        if (!found) return null;
        [atom, i] = found;
        out += atom;
        last = atom;
        members = null;
        continue;
      }
      if (/[1-9kux]/.test(e)) return null;
      const escapes = pick ? OTHER_ESCAPES : ESCAPES;
      atom = escapes[e] !== undefined ? escapes[e] : e;
      i += 2;
    } else if (c === "[") {
      const found = fromClass(source, i, pick);
      if (!found) return null;
      [atom, i, held] = found;
    } else if (c === "(") {
      const end = groupEnd(source, i);
      if (end < 0) return null;
      const group = source.slice(i + 1, end - 1);
      const look = /^\?<?[=!]/.exec(group);
      // a lookahead that must match: its text is part of the input; a negative one is left out
      if (look && look[0].endsWith("!")) atom = "";
      else if (look) atom = look[0].includes("<") ? "" : sample(group.slice(look[0].length));
      else atom = inner(group.replace(/^\?(?::|<[^>]+>)/, ""));
      if (atom === null) return null;
      i = end;
    } else if (c === "." ) {
      atom = pick ? "0" : "a";
      i++;
    } else if (c === "*" || c === "?" || c === "+" || c === "{") {
      const m = c === "{" ? /^\{(\d+)(,(\d*))?\}\??/.exec(source.slice(i)) : /^.\??/.exec(source.slice(i));
      if (!m) return null;
      const least = c === "{" ? Number(m[1]) : c === "+" ? 1 : 0;
      const most = c === "{" ? (m[2] === undefined ? least : m[3] === "" ? Infinity : Number(m[3])) : c === "?" ? 1 : Infinity;
      const times = more() ? Math.min(least + 2, most) : least;
      const repeated = members && times > 1 ? inTurn(members, pick, times) : last.repeat(times);
      out = out.slice(0, out.length - last.length) + repeated;
      last = "";
      members = null;
      i += m[0].length;
      continue;
    } else {
      atom = c;
      i++;
    }
    out += atom;
    last = atom;
    members = held;
  }
  return out.length <= MAX_SAMPLE ? out : null;
}

// The sample of a regex literal's text (`/…/flags`), as a JS string literal, or null
function regexSample(text) {
  const end = text.lastIndexOf("/");
  const found = end > 0 ? sample(text.slice(1, end)) : null;
  return found ? JSON.stringify(found) : null;
}

function compiled(text) {
  const end = text.lastIndexOf("/");
  try {
    return end > 0 ? new RegExp(text.slice(1, end), text.slice(end + 1).replace(/[gy]/g, "")) : null;
  } catch {
    return null;
  }
}

// Strings a regex literal matches, as JS string literals, at most MAX_SAMPLES: each top-level
// alternative, each quantifier taken twice more than its least, each with a class's first and
// last characters; only those the regex really matches. `others`: the regexes the change
// replaced (the base's): a string one side matches and the other does not comes first, since
// it is where the two versions differ (the head's `/^[$_]?([A-Z_a-z]\w*|\d)$/` and the base's
// `/^[$_]?\w*$/` differ on "00"). The others' own samples are tried too.
function regexSamples(text, others = []) {
  const all = [text, ...others];
  const regexes = all.map(compiled);
  if (regexes[0] === null) return [];
  const found = [];
  for (const [k, literal] of all.entries()) {
    const end = literal.lastIndexOf("/");
    if (end <= 0 || regexes[k] === null) continue;
    const source = literal.slice(1, end);
    const quantifiers = (source.match(/[*+?{]/g) || []).length;
    for (let alt = 0; alt < alternatives(source).length; alt++) {
      for (let stretch = -1; stretch < quantifiers; stretch++) {
        for (const pick of [0, 1]) {
          const s = sample(source, { alt, pick, stretch });
          if (s !== null && s.length <= MAX_SAMPLE && regexes[k].test(s)) found.push(s);
        }
      }
    }
  }
  const unique = [...new Set(found)];
  // the two match differently: one not at all, or another part of the string (`\p{L}+` finds
  // "a" in "0a0", where `[\p{L}\p{Nd}]+` finds it all)
  const how = (r, s) => {
    const m = r.exec(s);
    return m ? `${m.index}:${m[0]}` : "";
  };
  const differs = (s) => new Set(regexes.filter(Boolean).map((r) => how(r, s))).size > 1;
  const ordered = [...unique.filter(differs), ...unique.filter((s) => !differs(s))];
  return ordered.slice(0, MAX_SAMPLES).map((s) => JSON.stringify(s));
}

module.exports = { regexSample, regexSamples, sample };
